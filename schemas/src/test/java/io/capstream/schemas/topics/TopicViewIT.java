package io.capstream.schemas.topics;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.testkit.SharedStack;
import io.capstream.testkit.TopicNames;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** {@link TopicView}, the Kafka-backed {@link KeyedState}, on a real broker: what every reader of it relies on. */
class TopicViewIT {
    final String topic = TopicNames.prefixFor("topic-view") + "customers";

    TopicViewIT() {
        SharedStack.kafka().createTopics(List.of(new NewTopic(topic, 1, (short) 1)));
    }

    long send(KafkaProducer<String, String> producer, String key, String value) throws Exception {
        return producer.send(new ProducerRecord<>(topic, key, value)).get().offset();
    }

    @Test
    void readsEverythingBeforeSayingItCaughtUpThenFollowsNewValuesDeletesAndItsOwnWrites() throws Exception {
        Map<String, Object> kafka = Map.of("bootstrap.servers", SharedStack.kafka().bootstrapServers());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(kafka, new StringSerializer(), new StringSerializer())) {
            // given values written before the view starts
            for (int i = 0; i < 100; i++) {
                send(producer, "cus_" + i, "v1");
            }
            send(producer, "cus_0", "v2");
            Instant started = Instant.now();
            try (TopicView<String> view = new TopicView<>(topic, kafka, new StringDeserializer())) {
                // then once caught up it holds the latest value of every key
                awaitUntil(view::caughtUp);
                assertThat(view.get("cus_0")).contains("v2");
                assertThat(view.get("cus_99")).contains("v1");
                assertThat(view.lastHeard()).isAfterOrEqualTo(started.minusSeconds(1));

                // and it follows new values and deletes
                send(producer, "cus_1", "v3");
                producer.send(new ProducerRecord<>(topic, "cus_2", null)).get();
                awaitUntil(() -> view.get("cus_1").equals(java.util.Optional.of("v3")) && view.get("cus_2").isEmpty());

                // and a write this process remembered is not undone by an older record read later
                long older = send(producer, "cus_3", "older");
                view.remember("cus_3", "mine", older + 1);
                send(producer, "cus_4", "marker"); // one partition: once the marker is read, so was the older record
                awaitUntil(() -> view.get("cus_4").isPresent());
                assertThat(view.get("cus_3")).contains("mine");
            }
        }
    }

    static void awaitUntil(java.util.function.BooleanSupplier condition) {
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(30)).until(condition::getAsBoolean);
    }

    @Test
    void aRecordItCannotReadYetIsReadAgainUntilItCanNeverSkipped() throws Exception {
        // given a reader whose values cannot be read for now (as when the schema registry is unreachable)
        java.util.concurrent.atomic.AtomicBoolean unreadable = new java.util.concurrent.atomic.AtomicBoolean(true);
        org.apache.kafka.common.serialization.Deserializer<String> flaky = (t, bytes) -> {
            if (unreadable.get()) {
                throw new org.apache.kafka.common.errors.SerializationException("schema registry unreachable");
            }
            return bytes == null ? null : new String(bytes, java.nio.charset.StandardCharsets.UTF_8);
        };
        Map<String, Object> kafka = Map.of("bootstrap.servers", SharedStack.kafka().bootstrapServers());
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(kafka, new StringSerializer(), new StringSerializer())) {
            send(producer, "cus_r", "configured");
            try (TopicView<String> view = new TopicView<>(topic, kafka, flaky)) {
                // then it neither skips the record nor gives up: it is not caught up, and holds nothing for the key
                Thread.sleep(2_500);
                assertThat(view.caughtUp()).isFalse();
                assertThat(view.get("cus_r")).isEmpty();

                // when the values can be read again, it reads that record and catches up by itself
                unreadable.set(false);
                awaitUntil(view::caughtUp);
                assertThat(view.get("cus_r")).contains("configured");
            }
        }
    }
}

package io.capstream.aggregator.topology;

import io.capstream.schemas.UsageEvent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The events booked before, read back from usage-events by offset when an amendment takes one back: the topic keeps
 * every event for the late window and a day, longer than the dedup window within which an event can be amended, so
 * the dedup store keeps only where an event is (DedupProcessor.Version), not the event.
 */
interface EventArchive extends AutoCloseable {
    /** The event at {@code offset} of {@code partition} of usage-events. */
    UsageEvent read(int partition, long offset);

    @Override
    default void close() {}

    /** Opens an archive for one task with the application's settings. */
    interface Opener {
        EventArchive open(Map<String, Object> appConfigs, String clientId);
    }

    /**
     * Usage-events through a consumer of its own (opened at the first amendment a task sees, with the settings of the
     * application's restore consumer: read_committed under exactly once, no group, no commits).
     */
    static Opener kafka(String topic, Deserializer<UsageEvent> deserializer) {
        return (appConfigs, clientId) -> new EventArchive() {
            private KafkaConsumer<byte[], byte[]> consumer;

            @Override
            public UsageEvent read(int partition, long offset) {
                if (consumer == null) {
                    Map<String, Object> props = new StreamsConfig(appConfigs).getRestoreConsumerConfigs(clientId + "-archive");
                    props.put(ConsumerConfig.MAX_POLL_RECORDS_CONFIG, 1);
                    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
                    consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                }
                TopicPartition tp = new TopicPartition(topic, partition);
                consumer.assign(List.of(tp));
                consumer.seek(tp, offset);
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (System.nanoTime() < deadline) {
                    for (ConsumerRecord<byte[], byte[]> r : consumer.poll(Duration.ofMillis(200))) {
                        if (r.offset() == offset) {
                            return deserializer.deserialize(topic, r.headers(), r.value());
                        }
                        throw new IllegalStateException("usage-events offset " + offset + " of partition " + partition + " is gone");
                    }
                }
                throw new IllegalStateException("usage-events offset " + offset + " of partition " + partition + " could not be read in 30 s");
            }

            @Override
            public void close() {
                if (consumer != null) {
                    consumer.close(org.apache.kafka.clients.consumer.CloseOptions.timeout(Duration.ofSeconds(5)));
                }
            }
        };
    }
}

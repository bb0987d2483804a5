package io.capstream.ingest;

import io.capstream.runtime.ApiException;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Writes accepted events to {@code usage-events}, keyed by customer, with an idempotent producer and
 * {@code acks=all}, and returns only when the broker has acknowledged every one. The record timestamp
 * is the time the request was received, so the aggregator applies the late window to exactly the
 * same instant ingest did.
 */
final class EventPublisher implements AutoCloseable {
    private static final int RETRY_AFTER_SECONDS = 2;

    private final KafkaProducer<String, UsageEvent> producer;
    private final String topic;
    private final Duration timeout;

    EventPublisher(IngestConfig config, SchemaRegistryClient registry, String topic) {
        Map<String, Object> props = config.service().kafkaClient();
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        // Bound every wait so that an unreachable broker becomes a 503 within the publish timeout, never a hang.
        long timeoutMs = config.publishTimeout().toMillis();
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, Math.min(2_000L, timeoutMs));
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, (int) Math.min(2_000L, timeoutMs - 10));
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, (int) timeoutMs);
        this.producer = new KafkaProducer<>(props, new StringSerializer(),
                RegistryAvroSerde.of(UsageEvent.class, registry, config.service().autoRegister()));
        this.topic = topic;
        this.timeout = config.publishTimeout().plusSeconds(1);
    }

    /**
     * Sends the events and waits for the broker's acknowledgement of all of them.
     *
     * @throws ApiException 503 with Retry-After when the broker or registry cannot be reached in time
     */
    void publish(List<UsageEvent> events, Instant receivedAt) {
        List<Future<RecordMetadata>> acks = new ArrayList<>(events.size());
        long deadline = System.nanoTime() + timeout.toNanos();
        try {
            for (UsageEvent event : events) {
                Future<RecordMetadata> ack = producer.send(new ProducerRecord<>(topic, null, receivedAt.toEpochMilli(), event.getCustomer(), event));
                if (ack.isDone()) {
                    // failed at once (the producer returns, not throws, a metadata wait that timed out after max.block.ms):
                    // answer now instead of waiting that long again for each event of the batch (found by BrokerOutageIT)
                    ack.get();
                }
                acks.add(ack);
                if (System.nanoTime() > deadline) {
                    throw new TimeoutException("the broker took longer than " + timeout.toMillis() + " ms to take the events");
                }
            }
            for (Future<RecordMetadata> ack : acks) {
                ack.get(Math.max(0, deadline - System.nanoTime()), TimeUnit.NANOSECONDS);
            }
        } catch (KafkaException | ExecutionException | TimeoutException e) {
            Throwable cause = e instanceof ExecutionException ? e.getCause() : e;
            throw ApiException.unavailable("ingest_unavailable",
                    "the events were not stored because Kafka did not acknowledge them in time (" + cause.getClass().getSimpleName()
                            + ": " + cause.getMessage() + "); send the same request again, events already stored are counted once",
                    RETRY_AFTER_SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("ingest_unavailable", "interrupted while storing the events; send them again", RETRY_AFTER_SECONDS);
        }
    }

    @Override
    public void close() {
        producer.close(Duration.ofSeconds(5));
    }
}

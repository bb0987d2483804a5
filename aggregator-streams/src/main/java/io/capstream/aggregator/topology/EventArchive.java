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

    /** What one read fetches from the broker at most (beyond the batch holding the event, which is always returned whole). */
    int FETCH_BYTES = 16 * 1024;

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
            /** The records of the last fetch, by offset: amendments of events sent together (a backfill) read one fetch. */
            private final Map<Long, ConsumerRecord<byte[], byte[]>> fetched = new java.util.HashMap<>();
            private int fetchedPartition = -1;

            @Override
            public UsageEvent read(int partition, long offset) {
                ConsumerRecord<byte[], byte[]> r = partition == fetchedPartition ? fetched.get(offset) : null;
                if (r == null) {
                    r = fetch(partition, offset);
                }
                return deserializer.deserialize(topic, r.headers(), r.value());
            }

            private ConsumerRecord<byte[], byte[]> fetch(int partition, long offset) {
                if (consumer == null) {
                    Map<String, Object> props = new StreamsConfig(appConfigs).getRestoreConsumerConfigs(clientId + "-archive");
                    // one event is wanted, not the megabyte after it: the broker still returns the whole first batch
                    props.put(ConsumerConfig.MAX_PARTITION_FETCH_BYTES_CONFIG, FETCH_BYTES);
                    props.put(ConsumerConfig.FETCH_MAX_BYTES_CONFIG, FETCH_BYTES);
                    props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
                    // the consumer fetches ahead as it returns records; at the end of the log the broker would hold that
                    // fetch for fetch.max.wait.ms, and the next read (elsewhere) would wait for it
                    props.put(ConsumerConfig.FETCH_MAX_WAIT_MS_CONFIG, 0);
                    consumer = new KafkaConsumer<>(props, new ByteArrayDeserializer(), new ByteArrayDeserializer());
                }
                TopicPartition tp = new TopicPartition(topic, partition);
                if (!consumer.assignment().equals(java.util.Set.of(tp))) {
                    consumer.assign(List.of(tp));
                }
                consumer.seek(tp, offset);
                consumer.resume(List.of(tp));
                fetched.clear();
                fetchedPartition = partition;
                long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
                while (System.nanoTime() < deadline) {
                    var records = consumer.poll(Duration.ofMillis(200));
                    if (records.isEmpty()) {
                        continue;
                    }
                    consumer.pause(List.of(tp)); // no more fetching ahead until the next read
                    records.forEach(r -> fetched.put(r.offset(), r));
                    ConsumerRecord<byte[], byte[]> wanted = fetched.get(offset);
                    if (wanted == null) {
                        throw new IllegalStateException("usage-events offset " + offset + " of partition " + partition + " is gone");
                    }
                    return wanted;
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

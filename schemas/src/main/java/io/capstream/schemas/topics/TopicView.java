package io.capstream.schemas.topics;

import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The latest value per key of a compacted topic (customers, policy), read from the beginning by a
 * background thread and kept in memory. Writers record what they wrote with {@link #remember} so a
 * read right after a write sees it, and an older record read later does not undo it.
 */
public final class TopicView<V> implements KeyedState<V>, AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(TopicView.class);

    private final LatestByOffset<V> values = new LatestByOffset<>();
    private final KafkaConsumer<String, V> consumer;
    private final String topic;
    private final Thread thread;
    private volatile boolean caughtUp;
    private volatile java.time.Instant lastHeard = java.time.Instant.EPOCH;
    private volatile boolean running = true;
    /** The reader's position on each partition (the next offset it will read); empty until the partitions are assigned. */
    private volatile java.util.concurrent.atomic.AtomicLongArray positions = new java.util.concurrent.atomic.AtomicLongArray(0);
    private final Object moved = new Object();
    private static final Duration UNREADABLE_RETRY = Duration.ofSeconds(1);
    private long lastUnreadableLog = System.nanoTime() - Duration.ofMinutes(1).toNanos();

    public TopicView(String topic, Map<String, Object> kafka, Deserializer<V> deserializer) {
        Map<String, Object> props = new HashMap<>(kafka);
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        props.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        this.consumer = new KafkaConsumer<>(props, new StringDeserializer(), deserializer);
        this.topic = topic;
        this.thread = Thread.ofPlatform().daemon().name("view-" + topic).unstarted(() -> run(topic));
        thread.start();
    }

    private void run(String topic) {
        try {
            List<TopicPartition> partitions = new ArrayList<>();
            while (running && partitions.isEmpty()) {
                try {
                    consumer.partitionsFor(topic, Duration.ofSeconds(5)).forEach(p -> partitions.add(new TopicPartition(topic, p.partition())));
                } catch (org.apache.kafka.common.errors.TimeoutException e) {
                    LOG.warn("topic {} not reachable yet: {}", topic, e.getMessage());
                }
            }
            partitions.sort(java.util.Comparator.comparingInt(TopicPartition::partition));
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            java.util.concurrent.atomic.AtomicLongArray read = new java.util.concurrent.atomic.AtomicLongArray(partitions.size());
            positions = read;
            while (running) {
                org.apache.kafka.clients.consumer.ConsumerRecords<String, V> records;
                try {
                    records = consumer.poll(Duration.ofMillis(100)); // short: a writer may be waiting for the position (awaitRead)
                } catch (org.apache.kafka.common.errors.RecordDeserializationException e) {
                    // unreadable for now (the schema registry unreachable, typically): read it again shortly, never skip
                    // it (it may be a customer's configuration); the view stays where it is (not caught up) meanwhile
                    if (System.nanoTime() - lastUnreadableLog > Duration.ofSeconds(10).toNanos()) {
                        LOG.warn("{} at offset {} cannot be read yet; trying again every second: {}", e.topicPartition(), e.offset(),
                                e.getCause() == null ? e.getMessage() : e.getCause().getMessage());
                        lastUnreadableLog = System.nanoTime();
                    }
                    consumer.seek(e.topicPartition(), e.offset());
                    Thread.sleep(UNREADABLE_RETRY.toMillis());
                    continue;
                }
                if (!records.isEmpty() || connected()) {
                    lastHeard = java.time.Instant.now();
                }
                for (ConsumerRecord<String, V> r : records) {
                    values.apply(r.key(), r.value(), r.offset());
                }
                for (TopicPartition p : partitions) {
                    read.set(p.partition(), consumer.position(p));
                }
                synchronized (moved) {
                    moved.notifyAll();
                }
                if (!caughtUp && ends.entrySet().stream().allMatch(e -> consumer.position(e.getKey()) >= e.getValue())) {
                    caughtUp = true;
                    LOG.info("view of {} caught up: {} keys", topic, values.size());
                }
            }
        } catch (WakeupException e) {
            // closing
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("view of {} stopped", topic, e);
        } finally {
            consumer.close();
        }
    }

    private boolean connected() {
        for (var entry : consumer.metrics().entrySet()) {
            if (entry.getKey().name().equals("connection-count") && entry.getKey().group().equals("consumer-metrics")) {
                Object value = entry.getValue().metricValue();
                return value instanceof Number n && n.doubleValue() > 0;
            }
        }
        return false;
    }

    @Override
    public java.time.Instant lastHeard() {
        return lastHeard;
    }

    @Override
    public boolean caughtUp() {
        return caughtUp;
    }

    @Override
    public Optional<V> get(String key) {
        return values.get(key);
    }

    /** The compacted topic this view reads. */
    public String topic() {
        return topic;
    }

    /** The number of partitions of the topic; 0 until the reader has found them. */
    public int partitionCount() {
        return positions.length();
    }

    /** Every current value (a copy; for small topics). */
    public java.util.List<V> values() {
        return values.values();
    }

    /** The offset of the key's latest value (its version), or -1 when the key has none. */
    public long version(String key) {
        return values.offset(key);
    }

    /**
     * Waits until the reader has read {@code partition} up to {@code offset} (exclusive): every record
     * before it is then reflected in {@link #get}. False if that took longer than {@code timeout}.
     */
    public boolean awaitRead(int partition, long offset, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        synchronized (moved) {
            while (partition >= positions.length() || positions.get(partition) < offset) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                moved.wait(Math.max(1, left / 1_000_000));
            }
        }
        return true;
    }

    /** {@link #awaitRead(int, long, Duration)} for several partitions of this topic, within one {@code timeout} in all. */
    public boolean awaitRead(Map<TopicPartition, Long> offsets, Duration timeout) throws InterruptedException {
        long deadline = System.nanoTime() + timeout.toNanos();
        for (Map.Entry<TopicPartition, Long> o : offsets.entrySet()) {
            if (!awaitRead(o.getKey().partition(), o.getValue(), Duration.ofNanos(Math.max(0, deadline - System.nanoTime())))) {
                return false;
            }
        }
        return true;
    }

    /** A value this process wrote at {@code offset}, visible at once; records older than it are ignored when they arrive. */
    public void remember(String key, V value, long offset) {
        values.apply(key, value, offset);
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            thread.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

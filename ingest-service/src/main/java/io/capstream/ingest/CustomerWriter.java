package io.capstream.ingest;

import io.capstream.runtime.ApiException;
import io.capstream.schemas.AuditEntry;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.topics.TopicView;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Function;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.clients.producer.RecordMetadata;
import org.apache.kafka.clients.producer.internals.BuiltInPartitioner;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.KafkaException;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.InvalidProducerEpochException;
import org.apache.kafka.common.errors.ProducerFencedException;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Read-modify-write of one customer on the compacted {@code customers} topic with no lost update,
 * however many ingest instances write at once.
 *
 * <p>Each partition of the topic has one writer at a time across all instances: a transactional producer
 * whose {@code transactional.id} names the partition. An instance that takes the partition over
 * ({@code initTransactions}) fences the one before it and waits until the broker has finished that
 * one's last transaction; it then reads the partition up to its last committed offset before it changes
 * anything. While it stays the writer it applies changes to what it has read and written itself; if
 * another instance took over meanwhile, its commit fails as fenced, and it takes the partition back,
 * reads again and applies the change again. The log order is the order of the changes, each made on
 * the state before it.
 *
 * <p>Each change is written with its {@link AuditEntry} on {@code audit-log}, in the same transaction: a
 * change is stored with its audit entry or not at all.
 *
 * <p>A customer's version is the offset of its latest record, shown as its {@code ETag}: a change with
 * {@code If-Match} is applied only to that version (a client's own read-modify-write, checked against
 * the state the change is really applied to).
 */
final class CustomerWriter implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(CustomerWriter.class);
    private static final Duration WAIT = Duration.ofSeconds(5);
    private static final int ATTEMPTS = 5;

    /** The stored customer record and its version (the offset it was written at). */
    record Written(CustomerRecord record, long version) {}

    /** The audit entry of a change: the record before (empty: none) and after. */
    interface Audit {
        AuditEntry entry(Optional<CustomerRecord> before, CustomerRecord after);
    }

    private final Map<String, Object> producerProps;
    private final Serializer<CustomerRecord> serializer;
    private final String topic;
    private final Serializer<AuditEntry> auditSerializer;
    private final String auditTopic;
    private final TopicView<CustomerRecord> view;
    private final Admin admin;
    private final Map<Integer, Partition> partitions = new ConcurrentHashMap<>();

    /** The writer of one partition in this instance; {@code producer} is null until it is taken (again). */
    private static final class Partition {
        final ReentrantLock lock = new ReentrantLock();
        KafkaProducer<String, byte[]> producer;
    }

    CustomerWriter(Map<String, Object> kafka, Serializer<CustomerRecord> serializer, String topic, TopicView<CustomerRecord> view, Admin admin,
                   Serializer<AuditEntry> auditSerializer, String auditTopic) {
        this.auditSerializer = auditSerializer;
        this.auditTopic = auditTopic;
        this.producerProps = new HashMap<>(kafka);
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        producerProps.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, (int) WAIT.toMillis());
        // a writer that dies inside a transaction holds back readers of its partition until the broker aborts it
        producerProps.put(ProducerConfig.TRANSACTION_TIMEOUT_CONFIG, 10_000);
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        this.serializer = serializer;
        this.topic = topic;
        this.view = view;
        this.admin = admin;
    }

    /**
     * Applies {@code change} to the customer's current record (empty: none yet) and stores the result.
     *
     * @param ifMatch the version the caller's change is based on ({@code If-Match}), {@link #ANY_VERSION} for any that exists
     *                ({@code If-Match: *}), or empty for any or none
     * @throws ApiException 412 when {@code ifMatch} is not the current version; 503 when Kafka does not answer in time;
     *                      and whatever {@code change} throws, with nothing written
     */
    /** {@code If-Match: *}: the change applies to whatever version is current, if the customer exists. */
    static final long ANY_VERSION = -1;

    Written write(String id, Optional<Long> ifMatch, Function<Optional<CustomerRecord>, CustomerRecord> change, Audit audit) {
        if (!view.caughtUp()) {
            throw ApiException.unavailable("not_ready", "the customer directory is still loading; try again shortly", 1);
        }
        // the producer's own choice for the key: the customers topic stays co-partitioned with usage-events
        int number = BuiltInPartitioner.partitionForKey(id.getBytes(StandardCharsets.UTF_8), view.partitionCount());
        Partition partition = partitions.computeIfAbsent(number, n -> new Partition());
        partition.lock.lock();
        try {
            for (int attempt = 1; ; attempt++) {
                if (partition.producer == null) {
                    partition.producer = take(number);
                }
                long current = view.version(id);
                if (ifMatch.isPresent() && ifMatch.get() == ANY_VERSION) {
                    if (current < 0) {
                        throw new ApiException(412, "version_mismatch", "customer '" + id + "' does not exist (If-Match: *)", Map.of(), Map.of());
                    }
                } else if (ifMatch.isPresent() && ifMatch.get() != current) {
                    throw new ApiException(412, "version_mismatch", "customer '" + id + "' has changed since version " + ifMatch.get()
                            + (current < 0 ? "; it no longer exists" : "; read it again (current version " + current + ") and apply the change to that"),
                            Map.of(), current < 0 ? Map.of() : Map.of("ETag", etag(current)));
                }
                Optional<CustomerRecord> before = view.get(id);
                CustomerRecord record = change.apply(before);
                AuditEntry entry = audit.entry(before, record);
                try {
                    return commit(partition.producer, number, id, record, entry);
                } catch (KafkaException e) {
                    closeQuietly(partition);
                    if (attempt >= ATTEMPTS) {
                        throw ApiException.unavailable("control_contended", "customer '" + id + "' is being changed elsewhere at the same time; try again", 1);
                    }
                    if (fenced(e)) {
                        // another instance took the partition over: take it back, read what it wrote, apply the change again
                        LOG.info("customers partition {} was taken over by another writer; taking it back (attempt {})", number, attempt);
                        continue;
                    }
                    // the commit failed otherwise, perhaps while being fenced (the broker can answer an unknown error then):
                    // take the partition back and look whether the change is there before applying it again, so that a
                    // change that is not idempotent (a new grant) is never stored twice
                    LOG.warn("the commit of a change to customer {} failed ({}); checking whether it was stored", id, e.toString());
                    partition.producer = take(number);
                    if (view.get(id).filter(record::equals).isPresent()) {
                        return new Written(record, view.version(id));
                    }
                } catch (ExecutionException | TimeoutException e) {
                    LOG.warn("the change to customer {} was not stored: {}", id, e.toString());
                    closeQuietly(partition);
                    throw ApiException.unavailable("control_unavailable", "the change was not stored: Kafka did not acknowledge it in time; try again", 2);
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("control_unavailable", "the change was not stored; try again", 2);
        } finally {
            partition.lock.unlock();
        }
    }

    /** Appends an audit entry that goes with no customer record (a change of the policy), under {@code key}. */
    void audit(String key, AuditEntry entry) {
        int number = BuiltInPartitioner.partitionForKey(key.getBytes(StandardCharsets.UTF_8), view.partitionCount());
        Partition partition = partitions.computeIfAbsent(number, n -> new Partition());
        partition.lock.lock();
        try {
            if (partition.producer == null) {
                partition.producer = take(number);
            }
            partition.producer.beginTransaction();
            partition.producer.send(new ProducerRecord<>(auditTopic, number, key, auditSerializer.serialize(auditTopic, entry)));
            partition.producer.commitTransaction();
        } catch (KafkaException e) {
            closeQuietly(partition);
            throw ApiException.unavailable("control_unavailable", "the change was made but its audit entry was not stored: " + e.getMessage(), 1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("control_unavailable", "the change was made but its audit entry was not stored", 1);
        } finally {
            partition.lock.unlock();
        }
    }

    private static boolean fenced(Throwable e) {
        for (Throwable t = e; t != null; t = t.getCause()) {
            if (t instanceof ProducerFencedException || t instanceof InvalidProducerEpochException) {
                return true;
            }
        }
        return false;
    }

    static String etag(long version) {
        return "\"" + version + "\"";
    }

    private Written commit(KafkaProducer<String, byte[]> producer, int partition, String id, CustomerRecord record, AuditEntry entry)
            throws ExecutionException, TimeoutException, InterruptedException {
        byte[] value;
        byte[] audited;
        try {
            value = serializer.serialize(topic, record);
            audited = auditSerializer.serialize(auditTopic, entry);
        } catch (SerializationException e) {
            throw new IllegalStateException("customer '" + id + "' could not be serialized", e); // a bug or a bound missed: a 500
        }
        producer.beginTransaction();
        java.util.concurrent.Future<RecordMetadata> sent = producer.send(new ProducerRecord<>(topic, partition, id, value));
        producer.send(new ProducerRecord<>(auditTopic, partition, id, audited)); // co-partitioned: the customer's partition of audit-log
        producer.commitTransaction();
        RecordMetadata metadata = sent.get(WAIT.toMillis(), TimeUnit.MILLISECONDS);
        view.remember(id, record, metadata.offset());
        return new Written(record, metadata.offset());
    }

    /** Becomes the partition's writer: fences the previous one, then reads everything it committed. */
    private KafkaProducer<String, byte[]> take(int partition) throws InterruptedException {
        Map<String, Object> props = new HashMap<>(producerProps);
        props.put(ProducerConfig.TRANSACTIONAL_ID_CONFIG, topic + "-writer-" + partition);
        KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer());
        try {
            producer.initTransactions();
            TopicPartition tp = new TopicPartition(topic, partition);
            long committed = admin.listOffsets(Map.of(tp, OffsetSpec.latest()), new ListOffsetsOptions(IsolationLevel.READ_COMMITTED))
                    .partitionResult(tp).get(WAIT.toMillis(), TimeUnit.MILLISECONDS).offset();
            if (!view.awaitRead(partition, committed, WAIT)) {
                throw new TimeoutException("the customers view did not reach offset " + committed + " of partition " + partition);
            }
            return producer;
        } catch (KafkaException | ExecutionException | TimeoutException e) {
            producer.close(Duration.ZERO);
            LOG.warn("could not become the writer of customers partition {}: {}", partition, e.toString());
            throw ApiException.unavailable("control_unavailable", "the change was not stored: Kafka did not answer in time; try again", 2);
        }
    }

    private static void closeQuietly(Partition partition) {
        if (partition.producer != null) {
            try {
                partition.producer.close(Duration.ZERO);
            } catch (RuntimeException e) {
                LOG.debug("closing a fenced producer", e);
            }
            partition.producer = null;
        }
    }

    @Override
    public void close() {
        partitions.values().forEach(p -> {
            p.lock.lock();
            try {
                closeQuietly(p);
            } finally {
                p.lock.unlock();
            }
        });
    }
}

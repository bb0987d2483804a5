package io.capstream.aggregator.topology;

import io.capstream.policy.booking.Booking.Total;
import io.capstream.policy.limit.LimitIds;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.topics.UsageKey;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.processor.internals.InternalProcessorContext;
import org.apache.kafka.streams.processor.internals.RecordCollector;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.internals.WrappedStateStore;

/**
 * The running totals of one task: objects between two commits, written to RocksDB and to {@code usage-aggregates} once
 * per changed total per commit.
 *
 * <p>{@code usage-aggregates} is also the store's changelog (see {@link UsageTopology}): the store has no changelog of its
 * own, and Kafka Streams restores it from the task's partition of that topic after a crash, on a standby and on an instance
 * a partition moves to. So a changed total is one record, not a changelog record and the same value again on the topic:
 * this store sends it itself, through the task's record collector (inside the task's transaction), to the task's partition,
 * encoded once, in the topic's wire format, for both RocksDB and the topic.
 *
 * <p>A total changed by many events between two commits is serialized, logged and emitted once, not
 * once per event. This is safe under exactly-once because the changed totals live in this store, not
 * in a processor: Kafka Streams flushes every store's cache ({@link #flushCache()}) before it commits
 * the task's transaction, on every commit including the one at revocation, exactly as it does for its
 * own caching stores. A task closed without a commit (a crash, a fenced producer) drops them with the
 * transaction ({@link #clearCache()}, {@link #close()}), and the task starts again from the changelog.
 *
 * <p>Interactive queries (other threads) read the written totals only: at most one commit interval
 * behind, the same lag as {@code usage-aggregates}.
 *
 * <p>{@code TotalsStoreTest} pins the store on the real task lifecycle (TopologyTestDriver), and the
 * crash and rebalance tests pin it on a real cluster. The write-at-commit mechanism is
 * {@link WrittenAtCommit}'s.
 */
final class TotalsStore extends WrittenAtCommit<KeyValueStore<String, LimitUsage>, String, LimitUsage>
        implements ReadOnlyKeyValueStore<String, LimitUsage> {

    /** Told when changed totals were written. */
    interface Listener {
        /** After a batch of changed totals was written: readers of the store now see every change made so far. */
        void written();
    }

    private record Changed(String customer, Total total, long timestamp) {}

    /** More changed totals than this between two commits are written early (as a full record cache would). */
    static final int MAX_CHANGED = 10_000;
    private static final int MAX_CACHED = 50_000;

    private final Map<String, Changed> changed = new LinkedHashMap<>();
    private final Map<String, Total> cached = Lru.of(MAX_CACHED);
    private Listener listener = () -> { };
    private final Serde<LimitUsage> serde;
    /** The RocksDB store below the typed one: written with the bytes sent to the topic. */
    private KeyValueStore<Bytes, byte[]> bytes;
    private InternalProcessorContext<Void, Void> context;
    private String topic;

    private TotalsStore(KeyValueStore<String, LimitUsage> written, Serde<LimitUsage> serde) {
        super(written);
        this.serde = serde;
    }

    /**
     * This store in front of {@code written}, a RocksDB key-value store without a changelog of its own and with the values
     * in the wire format of usage-aggregates ({@code serde}), which the topology names as its changelog.
     */
    static StoreBuilder<TotalsStore> builder(StoreBuilder<KeyValueStore<String, LimitUsage>> written, Serde<LimitUsage> serde) {
        if (written.loggingEnabled()) {
            throw new IllegalArgumentException(written.name() + ": usage-aggregates is its changelog; disable its own");
        }
        return WrittenAtCommit.builder(written, w -> new TotalsStore(w, serde));
    }

    @Override
    @SuppressWarnings("unchecked")
    public void init(StateStoreContext stateStoreContext, StateStore root) {
        super.init(stateStoreContext, root);
        context = (InternalProcessorContext<Void, Void>) stateStoreContext;
        topic = context.changelogFor(name());
        bytes = ((WrappedStateStore<KeyValueStore<Bytes, byte[]>, String, LimitUsage>) wrapped()).wrapped();
    }

    /**
     * Called by the processor that owns the totals when its task starts processing (again): forgets
     * the objects of an earlier life of the task, whose store may have been updated as a standby since.
     */
    void open(Listener listener) {
        if (!changed.isEmpty()) {
            throw new IllegalStateException(changed.size() + " totals changed and not written when the task started again");
        }
        cached.clear();
        this.listener = listener;
    }

    Optional<Total> total(String key) {
        Changed c = changed.get(key);
        if (c != null) {
            return Optional.of(c.total());
        }
        Total t = cached.get(key);
        if (t == null) {
            LimitUsage written = wrapped().get(key);
            if (written == null) {
                return Optional.empty();
            }
            t = LimitRecords.toTotal(written);
            cached.put(key, t);
        }
        return Optional.of(t);
    }

    /** Changes a total; it is written and emitted at the next commit (or earlier, see {@link #writeChanged()}). */
    void put(String customer, String key, Total total, long timestamp) {
        changed.remove(key); // re-inserted last: written in the order of their last change
        changed.put(key, new Changed(customer, total, timestamp));
        cached.put(key, total);
        if (changed.size() >= MAX_CHANGED) {
            writeChanged();
        }
    }

    /**
     * How many features the customer's billing period starting at {@code billingStart} keeps a total of,
     * {@link io.capstream.policy.booking.Booking#OTHER_FEATURE} not counted: the written ones (their keys, read from RocksDB
     * without decoding the totals) and the ones changed since the last commit.
     */
    int featureTotals(String customer, Instant billingStart) {
        String prefix = UsageKey.customerPrefix(customer) + LimitIds.feature("");
        String suffix = "|" + billingStart; // as UsageKey.of writes it
        String other = UsageKey.of(customer, LimitIds.feature(io.capstream.policy.booking.Booking.OTHER_FEATURE), billingStart);
        Set<String> kept = new HashSet<>();
        try (KeyValueIterator<Bytes, byte[]> it = bytes.prefixScan(prefix, KEYS)) {
            while (it.hasNext()) {
                String key = new String(it.next().key.get(), StandardCharsets.UTF_8);
                if (key.endsWith(suffix) && !key.equals(other)) {
                    kept.add(key);
                }
            }
        }
        for (String key : changed.keySet()) {
            if (key.startsWith(prefix) && key.endsWith(suffix) && !key.equals(other)) {
                kept.add(key);
            }
        }
        return kept.size();
    }

    /** Forgets a total: gone from RocksDB, and a tombstone on usage-aggregates. */
    void delete(String key, long timestamp) {
        changed.remove(key);
        cached.remove(key);
        write(key, null, timestamp);
    }

    /** Writes every changed total to RocksDB and usage-aggregates; before a scan of the written totals. */
    @Override
    void writeChanged() {
        if (changed.isEmpty()) {
            return;
        }
        List<Map.Entry<String, Changed>> batch = new ArrayList<>(changed.entrySet());
        changed.clear();
        for (Map.Entry<String, Changed> e : batch) {
            Changed c = e.getValue();
            write(e.getKey(), LimitRecords.toRecord(c.customer(), c.total()), c.timestamp());
        }
        listener.written();
    }

    /**
     * One total (null: its tombstone) to RocksDB and to the task's partition of usage-aggregates, as of {@code timestamp},
     * encoded once; as Kafka Streams logs a change, inside the task's transaction.
     */
    private void write(String key, LimitUsage total, long timestamp) {
        byte[] k = KEYS.serialize(topic, key);
        byte[] v = total == null ? null : serde.serializer().serialize(topic, total);
        if (v == null) {
            bytes.delete(Bytes.wrap(k));
        } else {
            bytes.put(Bytes.wrap(k), v);
        }
        ((RecordCollector.Supplier) context).recordCollector().send(topic, k, v, new RecordHeaders(), context.taskId().partition(), timestamp,
                BYTES, BYTES, UsageTopology.ACCOUNT, context);
    }

    private static final StringSerializer KEYS = new StringSerializer();
    private static final ByteArraySerializer BYTES = new ByteArraySerializer();

    @Override
    void forget() {
        changed.clear();
        cached.clear();
    }

    // interactive queries and scans: the written totals (call writeChanged() first on the stream thread)

    @Override
    public LimitUsage get(String key) {
        return wrapped().get(key);
    }

    @Override
    public KeyValueIterator<String, LimitUsage> range(String from, String to) {
        return wrapped().range(from, to);
    }

    @Override
    public KeyValueIterator<String, LimitUsage> all() {
        return wrapped().all();
    }

    @Override
    public <PS extends Serializer<P>, P> KeyValueIterator<String, LimitUsage> prefixScan(P prefix, PS prefixKeySerializer) {
        return wrapped().prefixScan(prefix, prefixKeySerializer);
    }

    @Override
    public long approximateNumEntries() {
        return wrapped().approximateNumEntries();
    }
}

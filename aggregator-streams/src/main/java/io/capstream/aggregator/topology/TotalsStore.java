package io.capstream.aggregator.topology;

import io.capstream.policy.booking.Booking.Total;
import io.capstream.schemas.LimitUsage;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.StoreBuilder;

/**
 * The running totals of one task: objects between two commits, written to RocksDB and its changelog
 * and emitted to {@code usage-aggregates} once per changed total per commit.
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

    /** Receives each changed total when it is written: the topology emits it to usage-aggregates. */
    interface Emitter {
        void emit(String key, LimitUsage total, long timestamp);

        /** After a batch of changed totals was written: readers of the store now see every change made so far. */
        default void written() {}
    }

    private record Changed(String customer, Total total, long timestamp) {}

    /** More changed totals than this between two commits are written early (as a full record cache would). */
    static final int MAX_CHANGED = 10_000;
    private static final int MAX_CACHED = 50_000;

    private final Map<String, Changed> changed = new LinkedHashMap<>();
    private final Map<String, Total> cached = Lru.of(MAX_CACHED);
    private Emitter emitter = (key, total, timestamp) -> { };

    private TotalsStore(KeyValueStore<String, LimitUsage> written) {
        super(written);
    }

    /** A logged RocksDB key-value store under {@code name} with this store in front of it. */
    static StoreBuilder<TotalsStore> builder(StoreBuilder<KeyValueStore<String, LimitUsage>> written) {
        return WrittenAtCommit.builder(written, TotalsStore::new);
    }

    /**
     * Called by the processor that owns the totals when its task starts processing (again): forgets
     * the objects of an earlier life of the task, whose store may have been updated as a standby since.
     */
    void open(Emitter emitter) {
        if (!changed.isEmpty()) {
            throw new IllegalStateException(changed.size() + " totals changed and not written when the task started again");
        }
        cached.clear();
        this.emitter = emitter;
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

    void delete(String key) {
        changed.remove(key);
        cached.remove(key);
        wrapped().delete(key);
    }

    /** Writes every changed total to RocksDB and its changelog and emits it; before a scan of the written totals. */
    @Override
    void writeChanged() {
        if (changed.isEmpty()) {
            return;
        }
        List<Map.Entry<String, Changed>> batch = new ArrayList<>(changed.entrySet());
        changed.clear();
        for (Map.Entry<String, Changed> e : batch) {
            Changed c = e.getValue();
            LimitUsage record = LimitRecords.toRecord(c.customer(), c.total());
            wrapped().put(e.getKey(), record);
            emitter.emit(e.getKey(), record, c.timestamp());
        }
        emitter.written();
    }

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

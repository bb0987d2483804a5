package io.capstream.aggregator.topology;

import io.capstream.policy.input.Decimals;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageBucket;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * One task's usage buckets ({@link SeriesBook}): objects between two commits, written to the RocksDB
 * window store and its changelog once per changed bucket per commit ({@link WrittenAtCommit}, as the
 * running totals' {@link TotalsStore}). A bucket changed by many events costs one encode and one
 * changelog record per commit, and no decode or encode per event.
 *
 * <p>Interactive queries (other threads) read the written buckets only: at most one commit interval
 * behind, like the running totals.
 */
final class SeriesStore extends WrittenAtCommit<WindowStore<String, UsageBucket>, String, UsageBucket>
        implements ReadOnlyWindowStore<String, UsageBucket> {

    private record Slot(String key, long start) {}

    /** More changed buckets than this between two commits are written early. */
    static final int MAX_CHANGED = 10_000;
    private static final int MAX_CACHED = 50_000;

    private final Map<Slot, UsageBucket> changed = new LinkedHashMap<>();
    /** The earliest start of a changed bucket (Long.MAX_VALUE: none). */
    private long oldestChanged = Long.MAX_VALUE;
    private final Map<Slot, UsageBucket> cached = Lru.of(MAX_CACHED);

    private SeriesStore(WindowStore<String, UsageBucket> written) {
        super(written);
    }

    /** A logged RocksDB window store with this store in front of it (no record cache: this is the cache). */
    static StoreBuilder<SeriesStore> builder(StoreBuilder<WindowStore<String, UsageBucket>> written) {
        return WrittenAtCommit.builder(written, SeriesStore::new);
    }

    /** Called when the task starts processing (again): forgets the objects of an earlier life of the task. */
    void open() {
        forget();
    }

    /** The bucket of {@code key} starting at {@code start} as the stream thread sees it (changes not yet written included), or null. */
    UsageBucket bucket(String key, long start) {
        Slot slot = new Slot(key, start);
        UsageBucket b = changed.get(slot);
        if (b == null) {
            b = cached.get(slot);
            if (b == null) {
                b = wrapped().fetch(key, start);
                if (b != null) {
                    cached.put(slot, b);
                }
            }
        }
        return b;
    }

    /** Changes a bucket (the object may be the one {@link #bucket} returned, changed in place); written at the next commit. */
    void change(String key, long start, UsageBucket bucket) {
        Slot slot = new Slot(key, start);
        changed.put(slot, bucket);
        cached.put(slot, bucket);
        oldestChanged = Math.min(oldestChanged, start);
        if (changed.size() >= MAX_CHANGED) {
            writeChanged();
        }
    }

    /** Writes every changed bucket to RocksDB and its changelog; before a scan of the written buckets. */
    @Override
    void writeChanged() {
        for (Map.Entry<Slot, UsageBucket> e : changed.entrySet()) {
            wrapped().put(e.getKey().key(), atWireScale(e.getValue()), e.getKey().start());
        }
        changed.clear();
        oldestChanged = Long.MAX_VALUE;
    }

    /** Writes the changed buckets if one of them starts at or before {@code start}: a read of buckets up to there then sees every change. */
    void writeChangedFrom(long start) {
        if (oldestChanged <= start) {
            writeChanged();
        }
    }

    /** The bucket with every amount at its wire scale (sums are kept at whatever scale they come to between writes). */
    private static UsageBucket atWireScale(UsageBucket b) {
        b.setCost(Decimals.money(b.getCost()));
        b.setIncluded(Decimals.money(b.getIncluded()));
        b.setGrantCovered(Decimals.money(b.getGrantCovered()));
        b.setBilled(Decimals.money(b.getBilled()));
        List<Quantity> quantities = b.getQuantities();
        for (int i = 0; i < quantities.size(); i++) {
            Quantity q = quantities.get(i);
            if (q.getQuantity().scale() != Decimals.QUANTITY_SCALE) {
                quantities.set(i, new Quantity(q.getMeter(), q.getModel(), Decimals.quantity(q.getQuantity())));
            }
        }
        return b;
    }

    @Override
    void forget() {
        changed.clear();
        oldestChanged = Long.MAX_VALUE;
        cached.clear();
    }

    // interactive queries and scans: the written buckets (call writeChanged() first on the stream thread)

    @Override
    public UsageBucket fetch(String key, long time) {
        return wrapped().fetch(key, time);
    }

    @Override
    public WindowStoreIterator<UsageBucket> fetch(String key, Instant timeFrom, Instant timeTo) {
        return wrapped().fetch(key, timeFrom, timeTo);
    }

    @Override
    public WindowStoreIterator<UsageBucket> backwardFetch(String key, Instant timeFrom, Instant timeTo) {
        return wrapped().backwardFetch(key, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<String>, UsageBucket> fetch(String keyFrom, String keyTo, Instant timeFrom, Instant timeTo) {
        return wrapped().fetch(keyFrom, keyTo, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<String>, UsageBucket> backwardFetch(String keyFrom, String keyTo, Instant timeFrom, Instant timeTo) {
        return wrapped().backwardFetch(keyFrom, keyTo, timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<String>, UsageBucket> fetchAll(Instant timeFrom, Instant timeTo) {
        return wrapped().fetchAll(timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<String>, UsageBucket> backwardFetchAll(Instant timeFrom, Instant timeTo) {
        return wrapped().backwardFetchAll(timeFrom, timeTo);
    }

    @Override
    public KeyValueIterator<Windowed<String>, UsageBucket> all() {
        return wrapped().all();
    }

    @Override
    public KeyValueIterator<Windowed<String>, UsageBucket> backwardAll() {
        return wrapped().backwardAll();
    }

    /** The written buckets of one customer that start at {@code start} (scan only after {@link #writeChanged()}). */
    List<String> keysAt(String prefix, long start) {
        List<String> keys = new ArrayList<>();
        try (KeyValueIterator<Windowed<String>, UsageBucket> it = wrapped().fetch(prefix, prefix + "\uffff", Instant.ofEpochMilli(start),
                Instant.ofEpochMilli(start))) {
            while (it.hasNext()) {
                String key = it.next().key.key();
                if (key.startsWith(prefix)) {
                    keys.add(key);
                }
            }
        }
        return keys;
    }
}

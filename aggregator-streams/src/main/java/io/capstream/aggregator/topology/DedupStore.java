package io.capstream.aggregator.topology;

import java.io.File;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.util.Collection;
import java.util.Map;
import java.util.UUID;
import org.apache.kafka.common.config.TopicConfig;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.errors.ProcessorStateException;
import org.apache.kafka.streams.processor.BatchingStateRestoreCallback;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.processor.StateStoreContext;
import org.apache.kafka.streams.processor.internals.InternalProcessorContext;
import org.apache.kafka.streams.processor.internals.ProcessorContextUtils;
import org.apache.kafka.streams.query.Position;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.internals.CacheFlushListener;
import org.apache.kafka.streams.state.internals.CachedStateStore;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.BloomFilter;
import org.rocksdb.FlushOptions;
import org.rocksdb.HashLinkedListMemTableConfig;
import org.rocksdb.Options;
import org.rocksdb.ReadOptions;
import org.rocksdb.RocksDB;
import org.rocksdb.RocksDBException;
import org.rocksdb.RocksIterator;
import org.rocksdb.WriteOptions;

/**
 * The event identities of a task ({@link DedupProcessor}): one RocksDB entry per identity and bucket, and one changelog
 * record per commit holding every identity the commit remembered, instead of one record per event.
 *
 * <p>A RocksDB key is the bucket's start (8 bytes, so buckets sort in time) and the identity's 16-byte hash; a bucket is
 * dropped whole ({@code deleteRange}) once stream time is past it by the retention. The identities remembered since the
 * last commit are also packed in memory; when Kafka Streams flushes the task's stores before it commits the transaction
 * ({@link #flushCache}), they go to the changelog as one record, inside the transaction. The restore callback unpacks such
 * records into RocksDB: after a crash (under exactly-once the task's state is wiped and restored), on a standby, or on an
 * instance a partition moves to. A task closed without a commit is closed dirty, so its state (with the identities of the
 * transaction that did not commit) is wiped and restored from what committed.
 *
 * <p>The changelog is kept as long as the store keeps an identity (its retention and a day), deleted by time, never
 * compacted (each record's key is random: nothing replaces anything).
 */
final class DedupStore implements StateStore, CachedStateStore<Bytes, byte[]> {
    private static final int KEY = 24;
    /**
     * The memtable is a hash table of this many buckets (4 MiB of the memtable's 64) instead of RocksDB's skip list. Every event
     * looks its identity up in each bucket of the window and puts it once, and a random 24-byte key walked the skip list (up to
     * a million identities in a full memtable) through a cache miss per level; a hash bucket is one miss and a list of about
     * one identity (two and a half when full). The identities are never scanned in order on the hot path, only when a memtable
     * is flushed (in RocksDB's background thread) and once per expired bucket. With the hash table the store's share of the
     * stream thread about halved (docs/performance.md, "A hash memtable for the dedup store").
     */
    static final long MEMTABLE_BUCKETS = 1 << 19;
    private final String name;
    private final long retention;
    private final long width;

    private RocksDB db;
    private Options options;
    private WriteOptions writes;
    private InternalProcessorContext<?, ?> context;
    private boolean open;
    /** The identities remembered since the last commit: [bucket 8][hash 16][value length 2][value]. */
    private ByteBuffer pending = ByteBuffer.allocate(64 * 1024);
    private int pendingCount;
    private long newestBucket = Long.MIN_VALUE;
    private long droppedBefore = Long.MIN_VALUE;

    DedupStore(String name, long retention, long width) {
        this.name = name;
        this.retention = retention;
        this.width = width;
    }

    static StoreBuilder<DedupStore> builder(String name, long retention, long width) {
        Map<String, String> log = Map.of(TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                TopicConfig.RETENTION_MS_CONFIG, Long.toString(retention + 86_400_000L));
        return new StoreBuilder<>() {
            @Override public StoreBuilder<DedupStore> withCachingEnabled() { throw new UnsupportedOperationException(name + " batches its own changelog"); }
            @Override public StoreBuilder<DedupStore> withCachingDisabled() { return this; }
            @Override public StoreBuilder<DedupStore> withLoggingEnabled(Map<String, String> config) { throw new UnsupportedOperationException(name + " is always logged"); }
            @Override public StoreBuilder<DedupStore> withLoggingDisabled() { throw new UnsupportedOperationException(name + " is always logged"); }
            @Override public DedupStore build() { return new DedupStore(name, retention, width); }
            @Override public Map<String, String> logConfig() { return log; }
            @Override public boolean loggingEnabled() { return true; }
            @Override public String name() { return name; }
        };
    }

    @Override
    public void init(StateStoreContext stateStoreContext, StateStore root) {
        context = ProcessorContextUtils.asInternalProcessorContext(stateStoreContext);
        File dir = new File(new File(stateStoreContext.stateDir(), "rocksdb"), name);
        try {
            Files.createDirectories(dir.toPath());
            RocksDB.loadLibrary();
            options = new Options().setCreateIfMissing(true)
                    .useFixedLengthPrefixExtractor(KEY) // the whole key: it is what the memtable hashes
                    .setMemTableConfig(new HashLinkedListMemTableConfig().setBucketCount(MEMTABLE_BUCKETS))
                    .setAllowConcurrentMemtableWrite(false); // a single writer; RocksDB requires it of a hash memtable
            StoreOptions.bound(options, new BlockBasedTableConfig().setFilterPolicy(new BloomFilter(10, false)), stateStoreContext.appConfigs());
            writes = new WriteOptions().setDisableWAL(true); // durable at flush(); the changelog is the log
            db = RocksDB.open(options, dir.getAbsolutePath());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (RocksDBException e) {
            throw new ProcessorStateException("cannot open " + name + " in " + dir, e);
        }
        stateStoreContext.register(root, (BatchingStateRestoreCallback) this::restoreAll);
        open = true;
    }

    /**
     * The value remembered for {@code identity} in the bucket starting at {@code bucket}, or null.
     *
     * <p>Most identities are new, so most lookups miss. RocksDB's Java {@code get} turns a miss into a C++ exception that its
     * JNI layer throws and catches (facebook/rocksdb#13023): on this machine that unwinding was half of the lookup and a fifth
     * of the stream thread. {@code keyMayExist} answers a miss from the memtable and the SST files' bloom filters without it
     * (false is definite); only the rest (a hit, or a bloom filter's false positive) goes to {@code get}.
     */
    byte[] fetch(Bytes identity, long bucket) {
        if (bucket < droppedBefore) {
            return null;
        }
        byte[] key = key(bucket, identity.get());
        if (!db.keyMayExist(key, null)) { // without a holder: no value copied back, no arrays made across JNI
            return null;
        }
        try {
            return db.get(key);
        } catch (RocksDBException e) {
            throw new ProcessorStateException(name, e);
        }
    }

    /** Remembers {@code value} for {@code identity} in the bucket starting at {@code bucket}; logged at the next commit. */
    void put(Bytes identity, byte[] value, long bucket) {
        byte[] id = identity.get();
        write(bucket, id, value);
        if (pending.remaining() < KEY + 2 + value.length) {
            ByteBuffer larger = ByteBuffer.allocate(Math.max(pending.capacity() * 2, pending.position() + KEY + 2 + value.length));
            larger.put(pending.flip());
            pending = larger;
        }
        pending.putLong(bucket).put(id).putShort((short) value.length).put(value);
        pendingCount++;
    }

    private void write(long bucket, byte[] id, byte[] value) {
        if (bucket < droppedBefore) {
            return;
        }
        try {
            db.put(writes, key(bucket, id), value);
        } catch (RocksDBException e) {
            throw new ProcessorStateException(name, e);
        }
        if (bucket > newestBucket) {
            newestBucket = bucket;
        }
    }

    /** Before the task's transaction commits: the identities of this commit to the changelog, as one record. */
    @Override
    public void flushCache() {
        if (pendingCount > 0) {
            byte[] batch = new byte[pending.position()];
            pending.flip().get(batch);
            pending.clear();
            pendingCount = 0;
            UUID id = UUID.randomUUID();
            byte[] key = ByteBuffer.allocate(16).putLong(id.getMostSignificantBits()).putLong(id.getLeastSignificantBits()).array();
            context.logChange(name, Bytes.wrap(key), batch, context.currentSystemTimeMs(), new RecordHeaders(), Position.emptyPosition());
        }
        dropExpired();
    }

    /** A task closed without a commit: it is closed dirty and its state wiped, so only the batch in memory goes. */
    @Override
    public void clearCache() {
        pending.clear();
        pendingCount = 0;
    }

    @Override
    public boolean setFlushListener(CacheFlushListener<Bytes, byte[]> listener, boolean sendOldValues) {
        return false;
    }

    private void restoreAll(Collection<KeyValue<byte[], byte[]>> records) {
        for (KeyValue<byte[], byte[]> r : records) {
            if (r.value == null) {
                continue;
            }
            ByteBuffer b = ByteBuffer.wrap(r.value);
            byte[] id = new byte[16];
            while (b.hasRemaining()) {
                long bucket = b.getLong();
                b.get(id);
                byte[] value = new byte[b.getShort()];
                b.get(value);
                write(bucket, id, value);
            }
        }
        dropExpired();
    }

    /** Drops whole buckets that no event within the window can look in any more. */
    private void dropExpired() {
        if (newestBucket == Long.MIN_VALUE) {
            return;
        }
        long before = Math.floorDiv(newestBucket - retention, width) * width;
        if (before > droppedBefore && before > 0) { // buckets start at 0 or later (record timestamps are not negative)
            byte[] from = key(droppedBefore == Long.MIN_VALUE ? 0 : droppedBefore, new byte[16]);
            if (holdsBefore(from, before)) {
                try {
                    db.deleteRange(from, key(before, new byte[16]));
                } catch (RocksDBException e) {
                    throw new ProcessorStateException(name, e);
                }
            }
            droppedBefore = before;
        }
    }

    /**
     * Whether any identity is kept from {@code from} up to the bucket starting at {@code before}. A range deleted leaves a
     * tombstone that every lookup checks until the memtable is flushed (a tenth of a lookup), so a range that holds nothing
     * (the first drop after the store opens, mostly) is not deleted.
     */
    private boolean holdsBefore(byte[] from, long before) {
        try (ReadOptions everything = new ReadOptions().setTotalOrderSeek(true); RocksIterator first = db.newIterator(everything)) {
            first.seek(from);
            return first.isValid() && ByteBuffer.wrap(first.key()).getLong() < before;
        }
    }

    private static byte[] key(long bucket, byte[] id) {
        return ByteBuffer.allocate(KEY).putLong(bucket).put(id).array();
    }

    @Override
    public void flush() {
        try (FlushOptions wait = new FlushOptions().setWaitForFlush(true)) {
            db.flush(wait);
        } catch (RocksDBException e) {
            throw new ProcessorStateException(name, e);
        }
    }

    @Override
    public String name() {
        return name;
    }

    @Override
    public void close() {
        if (open) {
            open = false;
            clearCache();
            flush();
            db.close();
            writes.close();
            options.close();
        }
    }

    @Override
    public boolean persistent() {
        return true;
    }

    @Override
    public boolean isOpen() {
        return open;
    }
}

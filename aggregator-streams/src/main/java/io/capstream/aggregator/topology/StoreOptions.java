package io.capstream.aggregator.topology;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Cache;
import org.rocksdb.LRUCache;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteBufferManager;

/**
 * RocksDB options of the aggregator's stores ({@code rocksdb.config.setter} for Kafka Streams' stores; {@link DedupStore} calls
 * {@link #bound} itself).
 *
 * <p><b>One memory bound for the process.</b> Kafka Streams gives each store its own 50 MiB block cache and up to 48 MiB of
 * memtables; an instance holds about eleven stores per task, so twelve tasks could reach some 13 GiB off the heap as their data
 * grows. Here every store of the process shares one block cache of {@value #MEMORY_CONFIG} bytes (default 1 GiB), and the
 * memtables are charged to it through one write buffer manager that lets them hold at most half of it: past that, the store
 * being written flushes its memtable early. (The pattern of Kafka Streams' documentation, "BoundedMemoryRocksDBConfig".) The
 * SST files' index and bloom filter blocks stay outside the cache, held by each open file as before: they grow with the data
 * (about 10 bits per key), and a lookup never waits for one to be read back.
 *
 * <p><b>A smaller memtable for the running totals</b> ({@link UsageTopology#LIMITS_STORE}): 1 MiB instead of 16 MiB. Every
 * commit writes each changed total again, so a task's memtable holds many versions of few keys: with 16 MiB it grows to tens
 * of thousands of entries, and each insert walks a skip list that no longer fits the CPU caches. Under live traffic the
 * inserts were 6.3 % of the stream thread with 16 MiB and 3.9 % with 1 MiB (docs/performance.md, "A smaller memtable for the
 * totals").
 */
public final class StoreOptions implements RocksDBConfigSetter {
    /** Bytes of RocksDB memory (block cache and memtables) for all stores of the process, from the application's configs. */
    public static final String MEMORY_CONFIG = "capstream.rocksdb.memory.bytes";
    static final long DEFAULT_MEMORY = 1L << 30;
    static final long TOTALS_WRITE_BUFFER = 1024 * 1024;

    /** The block cache every store of the process shares, and the manager that charges the memtables to it. */
    record Memory(long bytes, Cache cache, WriteBufferManager memtables) {}

    /** The process's bounds, by size: an application configured with another size gets its own. */
    private static final Map<Long, Memory> MEMORIES = new HashMap<>();

    /**
     * The process's memory for RocksDB of the size the application configures ({@value #MEMORY_CONFIG}), made by the first store
     * that opens with that size and never closed: stores open and close as tasks move, and the process ends with it. Kafka
     * Streams instances of one size in one JVM (the tests) share one bound; one configured with another size has its own.
     */
    static synchronized Memory memory(Map<String, ?> configs) {
        Object configured = configs.get(MEMORY_CONFIG);
        long bytes = configured == null ? DEFAULT_MEMORY : Long.parseLong(configured.toString().trim());
        if (bytes < 16L << 20) {
            throw new IllegalArgumentException(MEMORY_CONFIG + " must be at least 16 MiB, was " + bytes);
        }
        return MEMORIES.computeIfAbsent(bytes, b -> {
            RocksDB.loadLibrary();
            Cache cache = new LRUCache(b);
            return new Memory(b, cache, new WriteBufferManager(b / 2, cache));
        });
    }

    /** Puts a store's block cache and memtables in the process's bound. */
    static void bound(Options options, BlockBasedTableConfig table, Map<String, ?> configs) {
        Memory m = memory(configs);
        options.setTableFormatConfig(table.setBlockCache(m.cache())).setWriteBufferManager(m.memtables());
    }

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        bound(options, (BlockBasedTableConfig) options.tableFormatConfig(), configs);
        if (storeName.equals(UsageTopology.LIMITS_STORE)) {
            options.setWriteBufferSize(TOTALS_WRITE_BUFFER);
        }
    }

    @Override
    public void close(String storeName, Options options) {
        // the cache and the write buffer manager are the process's, not the store's
    }
}

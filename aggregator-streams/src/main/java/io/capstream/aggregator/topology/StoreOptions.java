package io.capstream.aggregator.topology;

import java.util.Map;
import org.apache.kafka.streams.state.RocksDBConfigSetter;
import org.rocksdb.Options;

/**
 * RocksDB options of the aggregator's Kafka Streams stores ({@code rocksdb.config.setter}); Kafka Streams' defaults otherwise.
 *
 * <p>The running totals ({@link UsageTopology#LIMITS_STORE}) get a 1 MiB memtable instead of 16 MiB. Every commit writes each
 * changed total again, so a task's memtable holds many versions of few keys: with 16 MiB it grows to tens of thousands of
 * entries, and each insert walks a skip list that no longer fits the CPU caches. Under live traffic the inserts were 6.3 % of
 * the stream thread with 16 MiB and 3.9 % with 1 MiB (docs/performance.md, "A smaller memtable for the totals"); the totals
 * themselves are read from RocksDB only when the store's objects do not hold them, and a task's store keeps 3 MiB of
 * memtables at most instead of 48.
 */
public final class StoreOptions implements RocksDBConfigSetter {
    static final long TOTALS_WRITE_BUFFER = 1024 * 1024;

    @Override
    public void setConfig(String storeName, Options options, Map<String, Object> configs) {
        if (storeName.equals(UsageTopology.LIMITS_STORE)) {
            options.setWriteBufferSize(TOTALS_WRITE_BUFFER);
        }
    }

    @Override
    public void close(String storeName, Options options) {
        // nothing of its own to close
    }
}

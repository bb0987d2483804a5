package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.rocksdb.BlockBasedTableConfig;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;
import org.rocksdb.WriteOptions;

class StoreOptionsTest {
    static {
        RocksDB.loadLibrary();
    }

    @Test
    void theTotalsGetASmallMemtableAndOtherStoresKeepKafkaStreamsDefaults() {
        StoreOptions setter = new StoreOptions();
        try (Options totals = kafkaStreamsDefaults(); Options customers = kafkaStreamsDefaults()) {
            setter.setConfig(UsageTopology.LIMITS_STORE, totals, Map.of());
            setter.setConfig(UsageTopology.CUSTOMERS_STORE, customers, Map.of());

            assertThat(totals.writeBufferSize()).isEqualTo(1L << 20);
            assertThat(customers.writeBufferSize()).isEqualTo(16L << 20);
        }
    }

    @Test
    void everyStoreSharesTheProcessCacheAndItsMemtablesAreChargedToIt(@TempDir Path dir) throws Exception {
        StoreOptions setter = new StoreOptions();
        long bound = StoreOptions.DEFAULT_MEMORY;
        try (Options a = kafkaStreamsDefaults(); Options b = kafkaStreamsDefaults(); WriteOptions w = new WriteOptions().setDisableWAL(true)) {
            setter.setConfig(UsageTopology.CUSTOMERS_STORE, a, Map.of());
            setter.setConfig(UsageTopology.LIMITS_STORE, b, Map.of());
            try (RocksDB first = RocksDB.open(a, Files.createDirectories(dir.resolve("a")).toString());
                 RocksDB second = RocksDB.open(b, Files.createDirectories(dir.resolve("b")).toString())) {
                // one cache of the bound, not Kafka Streams' 50 MiB per store
                assertThat(first.getLongProperty("rocksdb.block-cache-capacity")).isEqualTo(bound);
                assertThat(second.getLongProperty("rocksdb.block-cache-capacity")).isEqualTo(bound);

                // when the first store's memtable grows by 4 MiB, the cache both see holds its reservation
                long before = second.getLongProperty("rocksdb.block-cache-usage");
                byte[] value = new byte[1024];
                for (int i = 0; i < 4096; i++) {
                    first.put(w, ("k" + i).getBytes(), value);
                }
                assertThat(second.getLongProperty("rocksdb.block-cache-usage")).isGreaterThanOrEqualTo(before + (3L << 20));
            }
        }
    }

    @Test
    void anApplicationOfAnotherSizeGetsItsOwnBoundAndOneOfTheSameSizeSharesIt() {
        StoreOptions.Memory standard = StoreOptions.memory(Map.of());
        StoreOptions.Memory small = StoreOptions.memory(Map.of(StoreOptions.MEMORY_CONFIG, Long.toString(32L << 20)));

        assertThat(standard.bytes()).isEqualTo(1L << 30);
        assertThat(small.bytes()).isEqualTo(32L << 20);
        assertThat(small.cache()).isNotSameAs(standard.cache());
        assertThat(StoreOptions.memory(Map.of(StoreOptions.MEMORY_CONFIG, " 33554432 "))).isSameAs(small);
        assertThat(StoreOptions.memory(Map.of(StoreOptions.MEMORY_CONFIG, Long.toString(1L << 30)))).isSameAs(standard);
    }

    /** What Kafka Streams sets before it calls the setter: a 16 MiB memtable and a table config with a 50 MiB cache of its own. */
    private static Options kafkaStreamsDefaults() {
        return new Options().setCreateIfMissing(true).setWriteBufferSize(16L << 20)
                .setTableFormatConfig(new BlockBasedTableConfig().setBlockCache(new org.rocksdb.LRUCache(50L << 20)));
    }
}

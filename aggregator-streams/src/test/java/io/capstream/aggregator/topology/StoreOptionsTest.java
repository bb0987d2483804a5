package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;
import org.rocksdb.Options;
import org.rocksdb.RocksDB;

class StoreOptionsTest {
    static {
        RocksDB.loadLibrary();
    }

    @Test
    void theTotalsGetASmallMemtableAndOtherStoresKeepKafkaStreamsDefaults() {
        StoreOptions setter = new StoreOptions();
        try (Options totals = new Options().setWriteBufferSize(16L << 20); Options customers = new Options().setWriteBufferSize(16L << 20)) {
            setter.setConfig(UsageTopology.LIMITS_STORE, totals, Map.of());
            setter.setConfig(UsageTopology.CUSTOMERS_STORE, customers, Map.of());

            assertThat(totals.writeBufferSize()).isEqualTo(1L << 20);
            assertThat(customers.writeBufferSize()).isEqualTo(16L << 20);
        }
    }
}

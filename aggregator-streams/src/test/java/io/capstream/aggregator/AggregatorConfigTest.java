package io.capstream.aggregator;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capstream.aggregator.topology.StoreOptions;
import io.capstream.schemas.topics.Topics;
import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.streams.state.HostInfo;
import org.junit.jupiter.api.Test;

class AggregatorConfigTest {
    private static Map<String, String> required() {
        Map<String, String> raw = new HashMap<>();
        raw.put("bootstrap.servers", "localhost:9092");
        raw.put("schema.registry.url", "http://localhost:8085");
        raw.put("api.keys.file", "/dev/null");
        return raw;
    }

    @Test
    void theRocksDbBoundReachesTheStoresThroughKafkaStreamsConfigs() {
        Map<String, String> raw = required();
        raw.put(AggregatorConfig.ROCKSDB_MEMORY_BYTES, Long.toString(256L << 20));

        var props = AggregatorService.streamsProperties(AggregatorConfig.from(raw), new Topics(""), new HostInfo("localhost", 8081));

        assertThat(props.get(StoreOptions.MEMORY_CONFIG)).isEqualTo(256L << 20);
        assertThat(AggregatorService.streamsProperties(AggregatorConfig.from(required()), new Topics(""), new HostInfo("localhost", 8081))
                .get(StoreOptions.MEMORY_CONFIG)).isEqualTo(1L << 30);
    }

    @Test
    void aBoundBelow16MiBIsRefusedNamingTheKey() {
        Map<String, String> raw = required();
        raw.put(AggregatorConfig.ROCKSDB_MEMORY_BYTES, "1000000");

        assertThatThrownBy(() -> AggregatorConfig.from(raw)).isInstanceOf(ConfigException.class)
                .hasMessageContaining(AggregatorConfig.ROCKSDB_MEMORY_BYTES);
    }
}

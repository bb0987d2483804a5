package io.capstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.HashMap;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class IngestConfigTest {
    static Map<String, String> required() {
        Map<String, String> raw = new HashMap<>();
        raw.put(IngestConfig.BOOTSTRAP_SERVERS, "127.0.0.1:9092");
        raw.put(IngestConfig.API_KEYS_FILE, "keys.txt");
        raw.put("schema.registry.url", "http://127.0.0.1:8081");
        raw.put("secret.keys", io.capstream.testkit.TestSecrets.KEYS);
        return raw;
    }

    @Test
    void eventsPerSecondDefaultsToTenThousandAndZeroMeansNoLimit() {
        assertThat(IngestConfig.from(required()).eventsPerSecond()).isEqualTo(10_000);
        Map<String, String> raw = required();
        raw.put(IngestConfig.EVENTS_PER_SECOND, "0");
        assertThat(IngestConfig.from(raw).eventsPerSecond()).isZero();
    }

    @Test
    void anEventsRateWhoseBurstCannotHoldAFullBatchIsRefusedNamingTheKey() {
        Map<String, String> raw = required();
        raw.put(IngestConfig.EVENTS_PER_SECOND, "99");
        assertThatThrownBy(() -> IngestConfig.from(raw)).isInstanceOf(ConfigException.class)
                .hasMessageContaining("events.per.second").hasMessageContaining("from 100");
        raw.put(IngestConfig.EVENTS_PER_SECOND, "100");
        assertThat(IngestConfig.from(raw).eventsPerSecond()).isEqualTo(100);
    }
}

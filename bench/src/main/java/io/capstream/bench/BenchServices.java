package io.capstream.bench;

import io.capstream.aggregator.AggregatorConfig;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.ApicurioRegistry;
import io.capstream.testkit.KafkaCluster;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;

/** The settings the benchmarks start Capstream's services with, on their in-process broker and registry. */
final class BenchServices {
    private BenchServices() {}

    /** What every service reads: the broker, the registry (schemas registered as used), the topics, a free port, the keys file. */
    static Map<String, String> common(KafkaCluster kafka, ApicurioRegistry registry, Topics topics, Path keys) {
        return Map.of("bootstrap.servers", kafka.bootstrapServers(), "schema.registry.url", registry.url(),
                "auto.register.schemas", "true", "topic.prefix", topics.prefix(), "http.host", "127.0.0.1", "http.port", "0",
                "api.keys.file", keys.toString(), "secret.keys", io.capstream.testkit.TestSecrets.KEYS);
    }

    /** An aggregator's: the common settings, its state under {@code work}, its application id. */
    static Map<String, String> aggregator(Map<String, String> common, Path work, String applicationId) {
        Map<String, String> config = new HashMap<>(common);
        config.put(AggregatorConfig.STATE_DIR, work.resolve("state").toString());
        config.put(AggregatorConfig.ADVERTISED_HOST, "127.0.0.1");
        config.put(AggregatorConfig.APPLICATION_ID, applicationId);
        return config;
    }
}

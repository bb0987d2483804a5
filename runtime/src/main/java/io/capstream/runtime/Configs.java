package io.capstream.runtime;

import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.apache.kafka.common.config.ConfigValue;

/**
 * Loads a service's configuration: a properties file (optional), then environment variables
 * ({@code CAPSTREAM_HTTP_PORT} sets {@code http.port}), then explicit overrides. Every key is
 * validated against the service's {@link ConfigDef} and every problem is reported at once.
 */
public final class Configs {
    /** Keys with this prefix are passed to Kafka clients unchanged (TLS, SASL, tuning). */
    public static final String KAFKA_PREFIX = "kafka.";
    public static final String BOOTSTRAP_SERVERS = "bootstrap.servers";
    /** The same keys as Confluent's serdes use. */
    public static final String REGISTRY_URL = "schema.registry.url";
    public static final String AUTO_REGISTER = "auto.register.schemas";
    public static final String TOPIC_PREFIX = "topic.prefix";
    public static final String HTTP_HOST = "http.host";
    public static final String HTTP_PORT = "http.port";

    private Configs() {}

    /** Defines what every service needs to reach Capstream's topics: the cluster, the registry, the topic prefix. */
    public static ConfigDef withKafka(ConfigDef def) {
        return def
                .define(BOOTSTRAP_SERVERS, ConfigDef.Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(),
                        ConfigDef.Importance.HIGH, "Kafka bootstrap servers.")
                .define(REGISTRY_URL, ConfigDef.Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), ConfigDef.Importance.HIGH,
                        "Confluent-compatible schema registry URL (Apicurio: .../apis/ccompat/v7).")
                .define(AUTO_REGISTER, ConfigDef.Type.BOOLEAN, false, ConfigDef.Importance.LOW,
                        "Register schemas on first use; off in production, where schemas are registered at deploy time.")
                .define(TOPIC_PREFIX, ConfigDef.Type.STRING, "", ConfigDef.Importance.MEDIUM, "Prefix of every Capstream topic name.");
    }

    /** Defines the service's HTTP listener. */
    public static ConfigDef withHttp(ConfigDef def, int defaultPort) {
        return def
                .define(HTTP_HOST, ConfigDef.Type.STRING, "0.0.0.0", ConfigDef.Importance.MEDIUM, "Address the HTTP server binds to.")
                .define(HTTP_PORT, ConfigDef.Type.INT, defaultPort, ConfigDef.Range.between(0, 65535), ConfigDef.Importance.HIGH,
                        "HTTP port (0 picks a free one).");
    }

    public static Map<String, String> read(Path file, Map<String, String> env, Map<String, String> overrides) {
        Map<String, String> raw = new HashMap<>();
        if (file != null) {
            Properties properties = new Properties();
            try (InputStream in = Files.newInputStream(file)) {
                properties.load(in);
            } catch (IOException e) {
                throw new UncheckedIOException("cannot read configuration file " + file, e);
            }
            properties.forEach((k, v) -> raw.put(k.toString(), v.toString()));
        }
        env.forEach((k, v) -> {
            if (k.startsWith("CAPSTREAM_") && !k.equals("CAPSTREAM_CONFIG")) {
                raw.put(k.substring("CAPSTREAM_".length()).toLowerCase(Locale.ROOT).replace('_', '.'), v);
            }
        });
        raw.putAll(overrides);
        return raw;
    }

    /**
     * Validates every key of {@code def} in {@code raw}.
     *
     * @throws ConfigException listing every problem, one per line
     */
    public static Map<String, Object> validate(ConfigDef def, Map<String, String> raw) {
        List<String> errors = new ArrayList<>();
        for (ConfigValue value : def.validate(raw)) {
            for (String message : value.errorMessages()) {
                errors.add(value.name() + ": " + message);
            }
        }
        if (!errors.isEmpty()) {
            throw new ConfigException("invalid configuration:\n  " + String.join("\n  ", errors));
        }
        return new HashMap<>(def.parse(raw));
    }

    /** The Kafka client settings passed through with the {@value #KAFKA_PREFIX} prefix, prefix removed. */
    public static Map<String, Object> kafkaPassThrough(Map<String, String> raw) {
        Map<String, Object> kafka = new HashMap<>();
        raw.forEach((k, v) -> {
            if (k.startsWith(KAFKA_PREFIX)) {
                kafka.put(k.substring(KAFKA_PREFIX.length()), v);
            }
        });
        return kafka;
    }

    /** A list setting of host names (or host:port), lower-cased. */
    @SuppressWarnings("unchecked")
    public static java.util.Set<String> hosts(Object list) {
        return ((java.util.List<String>) list).stream().map(String::strip).filter(h -> !h.isEmpty())
                .map(h -> h.toLowerCase(java.util.Locale.ROOT)).collect(java.util.stream.Collectors.toUnmodifiableSet());
    }
}

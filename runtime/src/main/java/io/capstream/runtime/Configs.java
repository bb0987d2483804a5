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

    private Configs() {}

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
}

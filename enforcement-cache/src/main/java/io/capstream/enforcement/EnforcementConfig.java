package io.capstream.enforcement;

import io.capstream.runtime.Configs;
import io.capstream.runtime.ServiceSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

/** The enforcement sidecar's configuration; every key validated at start-up, all problems reported together. */
public record EnforcementConfig(ServiceSettings service, Path apiKeysFile, String aggregatorUrl, String aggregatorKey, Duration reserveTimeout, Duration pendingFor, Duration stalenessBound, double sampleAllows, int decisionQueue) {
    public static final String BOOTSTRAP_SERVERS = Configs.BOOTSTRAP_SERVERS;
    public static final String TOPIC_PREFIX = Configs.TOPIC_PREFIX;
    public static final String HTTP_HOST = Configs.HTTP_HOST;
    public static final String HTTP_PORT = Configs.HTTP_PORT;
    public static final String API_KEYS_FILE = "api.keys.file";
    public static final String PENDING_MS = "pending.ms";
    public static final String AGGREGATOR_URL = "aggregator.url";
    public static final String AGGREGATOR_KEY = "aggregator.key";
    public static final String RESERVE_TIMEOUT_MS = "reserve.timeout.ms";
    public static final String STALENESS_MS = "staleness.ms";
    public static final String SAMPLE_ALLOWS = "decisions.sample.allows";
    public static final String DECISION_QUEUE = "decisions.queue";

    static final ConfigDef DEF = Configs.withHttp(Configs.withKafka(new ConfigDef()), 8082)
            .define(API_KEYS_FILE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "File of API keys: '<name> sha256:<hex> <scope>...' per line; checks need the 'check' scope.")
            .define(AGGREGATOR_URL, Type.STRING, "", Importance.MEDIUM,
                    "Query API of any aggregator instance, for strict caps' reservations; several, comma-separated, are tried in turn"
                    + " when one does not answer (empty: strict caps cannot be reserved).")
            .define(AGGREGATOR_KEY, Type.PASSWORD, "", Importance.MEDIUM, "API key with the 'check' scope for the aggregator's reservations.")
            .define(RESERVE_TIMEOUT_MS, Type.LONG, 100L, Range.between(1, 10_000), Importance.MEDIUM,
                    "How long a check waits for a strict reservation before failing open or closed. A reservation takes"
                    + " 1-3 ms when the services have CPU to spare; the bound is for bursts on busy hosts (docs/performance.md).")
            .define(PENDING_MS, Type.LONG, 10_000L, Range.atLeast(0), Importance.MEDIUM,
                    "How long an allowed request's estimate counts locally while its usage travels through the pipeline.")
            .define(STALENESS_MS, Type.LONG, 30_000L, Range.atLeast(1_000), Importance.MEDIUM,
                    "Without word from the brokers for this long, checks fail open (degraded) or closed (503) as each cap or plan says.")
            .define(SAMPLE_ALLOWS, Type.DOUBLE, 0.01, Range.between(0.0, 1.0), Importance.LOW,
                    "Fraction of plain allows written to the decision log (refusals, downgrades and warnings always are).")
            .define(DECISION_QUEUE, Type.INT, 10_000, Range.atLeast(1), Importance.LOW,
                    "Decisions waiting for the log; beyond it they are dropped and counted, checks never wait.");

    public static EnforcementConfig from(Map<String, String> raw) {
        Map<String, Object> v = Configs.validate(DEF, raw);
        return new EnforcementConfig(ServiceSettings.from(v, raw), Path.of((String) v.get(API_KEYS_FILE)),
                (String) v.get(AGGREGATOR_URL),
                ((org.apache.kafka.common.config.types.Password) v.get(AGGREGATOR_KEY)).value(),
                Duration.ofMillis((Long) v.get(RESERVE_TIMEOUT_MS)), Duration.ofMillis((Long) v.get(PENDING_MS)),
                Duration.ofMillis((Long) v.get(STALENESS_MS)), (Double) v.get(SAMPLE_ALLOWS),
                (Integer) v.get(DECISION_QUEUE));
    }
}

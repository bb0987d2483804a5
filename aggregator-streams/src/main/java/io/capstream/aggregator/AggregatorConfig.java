package io.capstream.aggregator;

import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.runtime.Configs;
import io.capstream.runtime.ServiceSettings;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

/** The aggregator's configuration; every key validated at start-up, all problems reported together. */
public record AggregatorConfig(ServiceSettings service, String applicationId, Path stateDir, String advertisedHost, Path apiKeysFile, EventTimeWindow window, int standbyReplicas, int streamThreads, long commitIntervalMs, long rocksdbMemoryBytes, Duration reservationHold,
                               io.capstream.aggregator.topology.UsageTopology.SeriesRetention seriesRetention,
                               java.util.Optional<io.capstream.runtime.PortalTokens> portalTokens,
                               java.util.Optional<String> controlUrl, String portalFrameAncestors) {
    public static final String BOOTSTRAP_SERVERS = Configs.BOOTSTRAP_SERVERS;
    public static final String TOPIC_PREFIX = Configs.TOPIC_PREFIX;
    public static final String APPLICATION_ID = "application.id";
    public static final String STATE_DIR = "state.dir";
    public static final String HTTP_HOST = Configs.HTTP_HOST;
    public static final String HTTP_PORT = Configs.HTTP_PORT;
    public static final String ADVERTISED_HOST = "http.advertised.host";
    public static final String API_KEYS_FILE = "api.keys.file";
    public static final String LATE_WINDOW_MS = "late.window.ms";
    public static final String BILLING_GRACE_MS = "billing.grace.ms";
    public static final String STANDBY_REPLICAS = "num.standby.replicas";
    public static final String STREAM_THREADS = "num.stream.threads";
    public static final String COMMIT_INTERVAL_MS = "commit.interval.ms";
    public static final String ROCKSDB_MEMORY_BYTES = "rocksdb.memory.bytes";
    public static final String RESERVATION_HOLD_MS = "reservation.hold.ms";
    public static final String SERIES_HOURLY_RETENTION_MS = "series.hourly.retention.ms";
    public static final String SERIES_DAILY_RETENTION_MS = "series.daily.retention.ms";
    public static final String SERIES_ENABLED = "series.enabled";
    public static final String CONTROL_URL = "control.url";
    public static final String PORTAL_FRAME_ANCESTORS = "portal.frame.ancestors";

    static final ConfigDef DEF = io.capstream.runtime.PortalTokens.define(Configs.withHttp(Configs.withKafka(new ConfigDef()), 8081))
            .define(APPLICATION_ID, Type.STRING, "capstream-aggregator", new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "Kafka Streams application id: the consumer group and the prefix of internal topics.")
            .define(STATE_DIR, Type.STRING, "/tmp/capstream-streams", Importance.HIGH, "Where RocksDB state stores live.")
            .define(ADVERTISED_HOST, Type.STRING, "localhost", Importance.HIGH, "Host name other instances use to reach this one's query API.")
            .define(API_KEYS_FILE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "File of API keys for the query API: '<name> sha256:<hex> <scope>...' per line.")
            .define(LATE_WINDOW_MS, Type.LONG, Duration.ofHours(24).toMillis(), Range.between(60_000, EventTimeWindow.MAX_LATE_WINDOW.toMillis()),
                    Importance.MEDIUM, "Events older than this (relative to when ingest received them) go to the DLQ; equals the dedup window."
                            + " At most 35 days.")
            .define(BILLING_GRACE_MS, Type.LONG, null, Importance.MEDIUM,
                    "How long a billing period stays open after its end before its totals are final (default: the late window)."
                            + " Shorter hands finance its totals sooner; an accepted event for a final period is then written to"
                            + " billing-adjustments instead (docs/finance.md).")
            .define(STANDBY_REPLICAS, Type.INT, 0, Range.atLeast(0), Importance.MEDIUM, "Standby copies of each store, for fast failover.")
            .define(STREAM_THREADS, Type.INT, 1, Range.atLeast(1), Importance.MEDIUM, "Stream threads per instance.")
            .define(COMMIT_INTERVAL_MS, Type.LONG, 100L, Range.atLeast(10), Importance.LOW,
                    "Exactly-once commit interval: lower is fresher, higher is cheaper.")
            .define(ROCKSDB_MEMORY_BYTES, Type.LONG, 1L << 30, Range.atLeast(16L << 20), Importance.MEDIUM,
                    "RocksDB memory of the instance: one block cache all its stores share, with their memtables charged to it (at most"
                            + " half). The SST files' index and bloom filter blocks are outside it (docs/operations.md).")
            .define(RESERVATION_HOLD_MS, Type.LONG, 600_000L, Range.atLeast(1_000), Importance.MEDIUM,
                    "A strict-mode reservation whose usage never arrives stops holding its amount after this long.")
            .define(SERIES_ENABLED, Type.BOOLEAN, true, Importance.MEDIUM,
                    "Keep usage over time (hourly and daily buckets per customer, the series API and the portal's chart). They cost a"
                            + " changelog record per changed hour and commit; docs/performance.md has the figures.")
            .define(SERIES_HOURLY_RETENTION_MS, Type.LONG, Duration.ofDays(35).toMillis(), Range.atLeast(Duration.ofDays(3).toMillis()), Importance.LOW,
                    "Hourly usage buckets are kept at least this long (dropped by 1.5 times this); at least 3 days, so that every day is"
                            + " rolled up from its hours into the daily buckets before they go.")
            .define(SERIES_DAILY_RETENTION_MS, Type.LONG, Duration.ofDays(400).toMillis(), Range.atLeast(86_400_000), Importance.LOW,
                    "Daily usage buckets are kept at least this long (dropped by 1.5 times this).")
            .define(CONTROL_URL, Type.STRING, null, Importance.MEDIUM,
                    "The control API (an ingest service, e.g. http://ingest:8080): the customer portal's cap changes are passed to it.")
            .define(PORTAL_FRAME_ANCESTORS, Type.STRING, "*", Importance.LOW,
                    "Which sites may embed the customer portal in an iframe (the CSP frame-ancestors value, e.g. 'https://app.example.com').");

    public static AggregatorConfig from(Map<String, String> raw) {
        Map<String, Object> v = Configs.validate(DEF, raw);
        return new AggregatorConfig(ServiceSettings.from(v, raw), (String) v.get(APPLICATION_ID),
                Path.of((String) v.get(STATE_DIR)), (String) v.get(ADVERTISED_HOST), Path.of((String) v.get(API_KEYS_FILE)),
                window((Long) v.get(LATE_WINDOW_MS), (Long) v.get(BILLING_GRACE_MS)), (Integer) v.get(STANDBY_REPLICAS),
                (Integer) v.get(STREAM_THREADS), (Long) v.get(COMMIT_INTERVAL_MS), (Long) v.get(ROCKSDB_MEMORY_BYTES),
                Duration.ofMillis((Long) v.get(RESERVATION_HOLD_MS)),
                (Boolean) v.get(SERIES_ENABLED)
                        ? new io.capstream.aggregator.topology.UsageTopology.SeriesRetention(Duration.ofMillis((Long) v.get(SERIES_HOURLY_RETENTION_MS)),
                                Duration.ofMillis((Long) v.get(SERIES_DAILY_RETENTION_MS)))
                        : io.capstream.aggregator.topology.UsageTopology.SeriesRetention.OFF, io.capstream.runtime.PortalTokens.from(v),
                java.util.Optional.ofNullable((String) v.get(CONTROL_URL)), (String) v.get(PORTAL_FRAME_ANCESTORS));
    }

    private static EventTimeWindow window(long lateWindowMs, Long graceMs) {
        Duration late = Duration.ofMillis(lateWindowMs);
        try {
            return new EventTimeWindow(late, graceMs == null ? late : Duration.ofMillis(graceMs));
        } catch (IllegalArgumentException e) {
            throw new org.apache.kafka.common.config.ConfigException(BILLING_GRACE_MS, graceMs, e.getMessage());
        }
    }
}

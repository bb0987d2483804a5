package io.capstream.ingest;

import io.capstream.runtime.Configs;
import io.capstream.runtime.ServiceSettings;
import io.capstream.runtime.SecretBox;
import java.nio.file.Path;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

/** The ingest service's configuration; every key validated at start-up, all problems reported together. */
public record IngestConfig(ServiceSettings service, Path apiKeysFile, Duration lateWindow, Duration publishTimeout,
                           long eventsPerSecond, long amendmentsPerSecond, SecretBox secrets, java.util.Set<String> webhookAllowedHosts,
                           java.util.Optional<io.capstream.runtime.PortalTokens> portalTokens) {
    public static final String HTTP_HOST = Configs.HTTP_HOST;
    public static final String HTTP_PORT = Configs.HTTP_PORT;
    public static final String BOOTSTRAP_SERVERS = Configs.BOOTSTRAP_SERVERS;
    public static final String TOPIC_PREFIX = Configs.TOPIC_PREFIX;
    public static final String API_KEYS_FILE = "api.keys.file";
    public static final String LATE_WINDOW_MS = "late.window.ms";
    public static final String PUBLISH_TIMEOUT_MS = "publish.timeout.ms";
    public static final String EVENTS_PER_SECOND = "events.per.second";
    public static final String AMENDMENTS_PER_SECOND = "amendments.per.second";
    public static final String WEBHOOK_ALLOWED_HOSTS = "webhook.allowed.hosts";
    public static final String WEBHOOK_ALLOWED_HOSTS_DOC = "Hosts (or host:port) that may receive webhooks over http and on"
            + " loopback or private addresses; for development only (the local stack's webhook sink). Everything else must be a public https URL.";

    static final ConfigDef DEF = io.capstream.runtime.PortalTokens.define(SecretBox.define(Configs.withHttp(Configs.withKafka(new ConfigDef()), 8080)))
            .define(WEBHOOK_ALLOWED_HOSTS, Type.LIST, "", Importance.LOW, WEBHOOK_ALLOWED_HOSTS_DOC)
            .define(API_KEYS_FILE, Type.STRING, ConfigDef.NO_DEFAULT_VALUE, new ConfigDef.NonEmptyString(), Importance.HIGH,
                    "File of API keys: '<name> sha256:<hex> <scope>...' per line.")
            .define(LATE_WINDOW_MS, Type.LONG, Duration.ofHours(24).toMillis(), Range.between(60_000, io.capstream.policy.booking.EventTimeWindow.MAX_LATE_WINDOW.toMillis()), Importance.MEDIUM,
                    "Events older than this are refused; equals the dedup window.")
            .define(PUBLISH_TIMEOUT_MS, Type.LONG, 5_000L, Range.between(1_000, 60_000), Importance.MEDIUM,
                    "How long a request waits for the broker's acknowledgement before answering 503.")
            .define(EVENTS_PER_SECOND, Type.LONG, 10_000L, eventsRate(), Importance.MEDIUM,
                    "Events a customer may send to this instance per second, in bursts of ten seconds' worth (429 events_rate_limited"
                            + " with Retry-After beyond; a batch is taken or refused whole); the customer's partition's stream thread books them."
                            + " 0: no limit; otherwise at least 100, so that a full batch of 1000 fits a burst.")
            .define(AMENDMENTS_PER_SECOND, Type.LONG, 50L, Range.between(0, 100_000), Importance.MEDIUM,
                    "Voids and replacements a customer may send to this instance per second, in bursts of ten seconds' worth"
                            + " (429 amendment_rate_limited with Retry-After beyond); each costs the aggregator a read from the broker. 0: no limit.");

    /** 0 (no limit), or from 100 (a burst of ten seconds' worth holds a full batch) to 10,000,000. */
    private static ConfigDef.Validator eventsRate() {
        return (name, value) -> {
            long v = (Long) value;
            if (v != 0 && (v < IngestApi.MAX_EVENTS / io.capstream.runtime.CustomerRateLimiter.BURST_SECONDS || v > 10_000_000)) {
                throw new org.apache.kafka.common.config.ConfigException(name, value, "0 (no limit), or from 100 to 10000000");
            }
        };
    }

    public static IngestConfig from(Map<String, String> raw) {
        Map<String, Object> v = Configs.validate(DEF, raw);
        return new IngestConfig(ServiceSettings.from(v, raw), Path.of((String) v.get(API_KEYS_FILE)),
                Duration.ofMillis((Long) v.get(LATE_WINDOW_MS)), Duration.ofMillis((Long) v.get(PUBLISH_TIMEOUT_MS)), (Long) v.get(EVENTS_PER_SECOND), (Long) v.get(AMENDMENTS_PER_SECOND),
                SecretBox.parse(((org.apache.kafka.common.config.types.Password) v.get(SecretBox.KEYS)).value()),
                Configs.hosts(v.get(WEBHOOK_ALLOWED_HOSTS)), io.capstream.runtime.PortalTokens.from(v));
    }
}

package io.capstream.notifier;

import io.capstream.runtime.Configs;
import io.capstream.runtime.ServiceSettings;
import io.capstream.runtime.SecretBox;
import java.time.Duration;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigDef.Importance;
import org.apache.kafka.common.config.ConfigDef.Range;
import org.apache.kafka.common.config.ConfigDef.Type;

/** The notifier's configuration; every key validated at start-up, all problems reported together. */
public record NotifierConfig(ServiceSettings service, String groupId, String smtpHost, int smtpPort, String smtpFrom,
              String smtpUsername, String smtpPassword, Duration webhookTimeout, Backoff backoff, int maxInFlight,
              int deliveryThreads, SecretBox secrets, java.util.Set<String> webhookAllowedHosts) {
    public static final String BOOTSTRAP_SERVERS = Configs.BOOTSTRAP_SERVERS;
    public static final String TOPIC_PREFIX = Configs.TOPIC_PREFIX;
    public static final String GROUP_ID = "group.id";
    public static final String HTTP_HOST = Configs.HTTP_HOST;
    public static final String HTTP_PORT = Configs.HTTP_PORT;
    public static final String SMTP_HOST = "smtp.host";
    public static final String SMTP_PORT = "smtp.port";
    public static final String SMTP_FROM = "smtp.from";
    public static final String SMTP_USERNAME = "smtp.username";
    public static final String SMTP_PASSWORD = "smtp.password";
    public static final String WEBHOOK_TIMEOUT_MS = "webhook.timeout.ms";
    public static final String RETRY_INITIAL_MS = "retry.initial.ms";
    public static final String RETRY_MAX_MS = "retry.max.ms";
    public static final String RETRY_HORIZON_MS = "retry.horizon.ms";
    public static final String MAX_IN_FLIGHT = "max.in.flight";
    public static final String DELIVERY_THREADS = "delivery.threads";
    public static final String WEBHOOK_ALLOWED_HOSTS = "webhook.allowed.hosts";

    static final ConfigDef DEF = SecretBox.define(Configs.withHttp(Configs.withKafka(new ConfigDef()), 8083))
            .define(WEBHOOK_ALLOWED_HOSTS, Type.LIST, "", Importance.LOW, "Hosts (or host:port) that may receive webhooks over http and on"
                    + " loopback or private addresses; for development only. Everything else must be a public https host, checked again at send time.")
            .define(GROUP_ID, Type.STRING, "capstream-notifier", new ConfigDef.NonEmptyString(), Importance.HIGH, "Consumer group of the notifiers.")
            .define(SMTP_HOST, Type.STRING, "localhost", Importance.HIGH, "SMTP server.")
            .define(SMTP_PORT, Type.INT, 3025, Range.between(1, 65535), Importance.HIGH, "SMTP port.")
            .define(SMTP_FROM, Type.STRING, "Capstream <limits@capstream.local>", Importance.MEDIUM, "Sender of notification emails.")
            .define(SMTP_USERNAME, Type.STRING, "", Importance.LOW, "SMTP user, if the server needs one.")
            .define(SMTP_PASSWORD, Type.PASSWORD, "", Importance.LOW, "SMTP password (never logged).")
            .define(WEBHOOK_TIMEOUT_MS, Type.LONG, 10_000L, Range.between(100, 120_000), Importance.MEDIUM, "How long one webhook call may take.")
            .define(RETRY_INITIAL_MS, Type.LONG, 5_000L, Range.atLeast(10), Importance.MEDIUM, "Delay before the first retry.")
            .define(RETRY_MAX_MS, Type.LONG, Duration.ofMinutes(30).toMillis(), Range.atLeast(10), Importance.MEDIUM, "Longest delay between retries.")
            .define(RETRY_HORIZON_MS, Type.LONG, Duration.ofHours(24).toMillis(), Range.atLeast(1_000), Importance.MEDIUM,
                    "After this long since the first attempt, a failing notification is dead-lettered.")
            .define(MAX_IN_FLIGHT, Type.INT, 10_000, Range.atLeast(1), Importance.LOW,
                    "Notifications being delivered or waiting to be retried; beyond it the notifier stops reading until some finish.")
            .define(DELIVERY_THREADS, Type.INT, 32, Range.between(1, 1024), Importance.LOW,
                    "Attempts made at once; a slow endpoint holds one thread for at most webhook.timeout.ms per attempt.");

    public static NotifierConfig from(Map<String, String> raw) {
        Map<String, Object> v = Configs.validate(DEF, raw);
        Backoff backoff = new Backoff(Duration.ofMillis((Long) v.get(RETRY_INITIAL_MS)), Duration.ofMillis((Long) v.get(RETRY_MAX_MS)),
                Duration.ofMillis((Long) v.get(RETRY_HORIZON_MS)));
        return new NotifierConfig(ServiceSettings.from(v, raw), (String) v.get(GROUP_ID), (String) v.get(SMTP_HOST),
                (Integer) v.get(SMTP_PORT), (String) v.get(SMTP_FROM), (String) v.get(SMTP_USERNAME),
                ((org.apache.kafka.common.config.types.Password) v.get(SMTP_PASSWORD)).value(),
                Duration.ofMillis((Long) v.get(WEBHOOK_TIMEOUT_MS)), backoff, (Integer) v.get(MAX_IN_FLIGHT),
                (Integer) v.get(DELIVERY_THREADS),
                SecretBox.parse(((org.apache.kafka.common.config.types.Password) v.get(SecretBox.KEYS)).value()),
                Configs.hosts(v.get(WEBHOOK_ALLOWED_HOSTS)));
    }
}

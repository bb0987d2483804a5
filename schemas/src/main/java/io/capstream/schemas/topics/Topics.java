package io.capstream.schemas.topics;

import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.config.TopicConfig;

/**
 * Capstream's topics (DESIGN section 2), with a configurable prefix so that several deployments
 * (or tests) can share one cluster. Keys are strings; values are Avro in the Confluent wire format,
 * registered under {@code <topic>-value}.
 */
public record Topics(String prefix) {
    /** Partitions of the customer-keyed topics; usage-events and customers must stay equal (co-partitioned). */
    public static final int CUSTOMER_PARTITIONS = 12;

    public Topics {
        if (prefix == null) {
            prefix = "";
        }
    }

    public String usageEvents() {
        return prefix + "usage-events";
    }

    public String usageAggregates() {
        return prefix + "usage-aggregates";
    }

    public String usageEventsDlq() {
        return prefix + "usage-events-dlq";
    }

    /** The subject a topic's values are registered under (TopicNameStrategy). */
    public static String valueSubject(String topic) {
        return topic + "-value";
    }

    /**
     * The topics to create, with partitions and cleanup policies.
     *
     * @param lateWindow usage events are kept for at least the late window plus a day
     */
    public List<TopicSpec> specs(Duration lateWindow) {
        String usageRetention = Long.toString(lateWindow.plusDays(1).toMillis());
        return List.of(
                new TopicSpec(usageEvents(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                        TopicConfig.RETENTION_MS_CONFIG, usageRetention)),
                new TopicSpec(usageAggregates(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                new TopicSpec(usageEventsDlq(), 3, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE)));
    }
}

package io.capstream.schemas.topics;

import io.capstream.schemas.AuditEntry;
import io.capstream.schemas.BillingAdjustment;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.DeliveryAttempt;
import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.EnforcementMetrics;
import io.capstream.schemas.MetricsContribution;
import io.capstream.schemas.NotificationDeadLetter;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.RunawayState;
import io.capstream.schemas.ReservationRecord;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageEvent;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.config.TopicConfig;

/**
 * Capstream's topics (DESIGN section 2), with a configurable prefix so that several deployments
 * (or tests) can share one cluster. Keys are strings; values are Avro in the Confluent wire format,
 * registered under {@code <topic>-value}.
 */
public record Topics(String prefix) {
    /** Partitions of the customer-keyed topics; usage-events and customers must stay equal (co-partitioned). */
    public static final int CUSTOMER_PARTITIONS = 12;
    /** The key of the policy document on the policy topic (one document per deployment). */
    public static final String POLICY_KEY = "capstream";

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

    public String customers() {
        return prefix + "customers";
    }

    public String policy() {
        return prefix + "policy";
    }

    public String billingPeriodTotals() {
        return prefix + "billing-period-totals";
    }

    /** Changes to billing periods already final (never compacted, kept forever; key like {@link #billingPeriodTotals}). */
    public String billingAdjustments() {
        return prefix + "billing-adjustments";
    }

    public String thresholdEvents() {
        return prefix + "threshold-events";
    }

    public String enforcementDecisions() {
        return prefix + "enforcement-decisions";
    }

    public String notificationDeliveries() {
        return prefix + "notification-deliveries";
    }

    /** Strict-mode reservations as the owning aggregator made and released them (input of the task that owns the customer). */
    public String reservations() {
        return prefix + "reservations";
    }

    /** Each customer's open runaway circuit breakers (compacted, key: customer), for the sidecars. */
    public String runawayBreakers() {
        return prefix + "runaway-breakers";
    }

    /** Decision metrics per plan, feature and UTC day or week (compacted, key plan|feature|granularity|window start). */
    public String enforcementMetrics() {
        return prefix + "enforcement-metrics";
    }

    /** Each decision record and breaker trip on its way to its plan's and feature's metrics (key plan|feature; the aggregator's own). */
    public String enforcementMetricsInput() {
        return prefix + "enforcement-metrics-input";
    }

    /** Every change made through the control API (never compacted, kept forever; key: customer, or {@link #POLICY_AUDIT_KEY}). */
    public String auditLog() {
        return prefix + "audit-log";
    }

    /** The audit log's key for changes of the policy document. */
    public static final String POLICY_AUDIT_KEY = "(policy)";

    public String notificationDlq() {
        return prefix + "notification-dlq";
    }

    /** The value type of each topic that carries Avro values, for registering schemas at deploy time. */
    public Map<String, Class<? extends SpecificRecord>> valueTypes() {
        return Map.ofEntries(Map.entry(usageEvents(), UsageEvent.class), Map.entry(usageAggregates(), LimitUsage.class),
                Map.entry(customers(), CustomerRecord.class), Map.entry(policy(), PolicyRecord.class),
                Map.entry(billingPeriodTotals(), PeriodTotal.class), Map.entry(thresholdEvents(), ThresholdCrossed.class),
                Map.entry(notificationDeliveries(), DeliveryAttempt.class), Map.entry(notificationDlq(), NotificationDeadLetter.class),
                Map.entry(enforcementDecisions(), EnforcementDecision.class), Map.entry(reservations(), ReservationRecord.class),
                Map.entry(runawayBreakers(), RunawayState.class), Map.entry(enforcementMetrics(), EnforcementMetrics.class),
                Map.entry(enforcementMetricsInput(), MetricsContribution.class), Map.entry(auditLog(), AuditEntry.class),
                Map.entry(billingAdjustments(), BillingAdjustment.class));
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
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE)),
                new TopicSpec(customers(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                new TopicSpec(policy(), 1, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                new TopicSpec(billingPeriodTotals(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                new TopicSpec(billingAdjustments(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                        TopicConfig.RETENTION_MS_CONFIG, "-1")),
                new TopicSpec(thresholdEvents(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE)),
                new TopicSpec(enforcementDecisions(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE)),
                new TopicSpec(notificationDeliveries(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE)),
                new TopicSpec(runawayBreakers(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                new TopicSpec(enforcementMetrics(), 3, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_COMPACT)),
                new TopicSpec(enforcementMetricsInput(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                        TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(1).toMillis()))),
                new TopicSpec(auditLog(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                        TopicConfig.RETENTION_MS_CONFIG, "-1")),
                new TopicSpec(notificationDlq(), 3, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE)),
                // a reservation holds for minutes; the task's store keeps the open ones, the topic only carries them there
                new TopicSpec(reservations(), CUSTOMER_PARTITIONS, Map.of(
                        TopicConfig.CLEANUP_POLICY_CONFIG, TopicConfig.CLEANUP_POLICY_DELETE,
                        TopicConfig.RETENTION_MS_CONFIG, Long.toString(Duration.ofDays(1).toMillis()))));
    }
}

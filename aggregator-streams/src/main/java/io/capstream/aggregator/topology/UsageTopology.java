package io.capstream.aggregator.topology;

import io.capstream.aggregator.strict.ReservationBook;
import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.schemas.AuditEntry;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.EnforcementMetrics;
import io.capstream.schemas.MetricsContribution;
import io.capstream.schemas.RecentDecisions;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.ReservationRecord;
import io.capstream.schemas.RunawayState;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageBucket;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.serde.InternalAvroSerde;
import io.capstream.schemas.topics.Topics;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.state.Stores;

/**
 * The aggregator's topology, a pure function of its inputs. Every source, processor, store and sink
 * has an explicit name, so a change to the topology never silently orphans state.
 *
 * <pre>
 * usage-events ─▶ price ─▶ dedup ─▶ account ──┬─▶ usage-aggregates
 *                  │         │         ▲       ├─▶ threshold-events
 * customers ─▶ customer-update ────────┘       └─▶ billing-period-totals (when a period closes)
 *                  │   usage-ids-store   usage-limits-store, customers-store, reservations-store (settled),
 *                  │                       usage-series-hourly-store, usage-series-daily-store (window stores), usage-series-rollups-store
 *                  │                       runaway-store ─▶ runaway-breakers (open circuit breakers, for the sidecars)
 *                  └ refused events ─▶ usage-events-dlq (via {@link DeadLetterHandler})
 * reservations ─▶ reservation-update ─▶ reservations-store (the strict holds of the task's customers)
 * enforcement-decisions ─▶ recent-decisions ─▶ recent-decisions-store (each customer's last refusals and downgrades)
 * enforcement-decisions ─▶ decision-metrics-router ─▶ enforcement-metrics-input (key plan|feature; breaker trips from account too)
 * enforcement-metrics-input ─▶ decision-metrics ─▶ enforcement-metrics (per plan, feature, UTC day and week)
 * audit-log ─▶ audit-history ─▶ audit-history-store (each customer's changes through the control API)
 * policy ─▶ policy-store (global: every instance, every version, no restart)
 * </pre>
 *
 * Pricing comes before dedup so that an event refused for its content does not use up its id: the
 * sender can correct it and send it again.
 */
public final class UsageTopology {
    public static final String EVENTS_SOURCE = "usage-events-source";
    public static final String CUSTOMERS_SOURCE = "customers-source";
    public static final String POLICY_SOURCE = "policy-source";
    public static final String RESERVATIONS_SOURCE = "reservations-source";
    public static final String RESERVATION_UPDATE = "reservation-update";
    public static final String RESERVATIONS_STORE = "reservations-store";
    public static final String PRICE = "price";
    public static final String DEDUP = "dedup";
    public static final String ACCOUNT = "account";
    public static final String CUSTOMER_UPDATE = "customer-update";
    public static final String POLICY_UPDATE = "policy-update";
    public static final String THRESHOLDS_SINK = "threshold-events-sink";
    public static final String TOTALS_SINK = "billing-period-totals-sink";
    public static final String RUNAWAY_SINK = "runaway-breakers-sink";
    public static final String RUNAWAY_STORE = "runaway-store";
    public static final String METRICS_ROUTER = "decision-metrics-router";
    public static final String METRICS_INPUT_SINK = "enforcement-metrics-input-sink";
    public static final String METRICS_INPUT_SOURCE = "enforcement-metrics-input-source";
    public static final String METRICS = "decision-metrics";
    public static final String METRICS_SINK = "enforcement-metrics-sink";
    public static final String METRICS_STORE = "enforcement-metrics-store";
    public static final String METRICS_CUSTOMERS_STORE = "enforcement-metrics-customers-store";
    public static final String METRICS_WINDOWS_STORE = "enforcement-metrics-windows-store";
    public static final String AUDIT_SOURCE = "audit-log-source";
    public static final String AUDIT_HISTORY = "audit-history";
    public static final String AUDIT_STORE = "audit-history-store";
    public static final String DEDUP_STORE = "usage-ids-store";
    public static final String FINALS_STORE = "billing-finals-store";
    public static final String ADJUSTMENTS_SINK = "billing-adjustments-sink";
    public static final String LIMITS_STORE = "usage-limits-store";
    public static final String CUSTOMERS_STORE = "customers-store";
    public static final String POLICY_STORE = "policy-store";
    public static final String DECISIONS_SOURCE = "enforcement-decisions-source";
    public static final String RECENT_DECISIONS = "recent-decisions";
    public static final String RECENT_DECISIONS_STORE = "recent-decisions-store";
    public static final String SERIES_HOURLY_STORE = "usage-series-hourly-store";
    public static final String SERIES_DAILY_STORE = "usage-series-daily-store";
    public static final String SERIES_ROLLUPS_STORE = "usage-series-rollups-store";

    /**
     * How long the usage series keep their buckets (issue "Usage over time"): at least this, dropped by 1.5
     * times this; {@link #OFF}: no series are kept (they cost changelog records, docs/performance.md).
     */
    public record SeriesRetention(Duration hourly, Duration daily) {
        /** Hours are kept at least until their day is rolled up into the daily buckets ({@link SeriesBook}), with days to spare. */
        public static final Duration MIN_HOURLY = Duration.ofDays(3);
        public static final SeriesRetention DEFAULT = new SeriesRetention(Duration.ofDays(35), Duration.ofDays(400));
        /** No usage series: no series stores, and the series API answers 501. */
        public static final SeriesRetention OFF = new SeriesRetention(Duration.ZERO, Duration.ZERO);

        public boolean enabled() {
            return this != OFF;
        }

        public SeriesRetention {
            boolean off = hourly.isZero() && daily.isZero();
            if (!off && (hourly.compareTo(MIN_HOURLY) < 0 || daily.compareTo(Duration.ofDays(1)) < 0)) {
                throw new IllegalArgumentException("series retention: at least " + MIN_HOURLY.toDays() + " days of hourly and a day of daily buckets");
            }
        }
    }

    /** The serdes of the topics the topology reads and writes (registry-backed in production). */
    public record TopicSerdes(Serde<UsageEvent> usageEvents, Serde<CustomerRecord> customers, Serde<PolicyRecord> policy,
                              Serde<LimitUsage> usageAggregates, Serde<ThresholdCrossed> thresholdEvents,
                              Serde<PeriodTotal> periodTotals, Serde<ReservationRecord> reservations,
                              Serde<EnforcementDecision> decisions, Serde<RunawayState> runaway,
                              Serde<MetricsContribution> metricsInput, Serde<EnforcementMetrics> metrics, Serde<AuditEntry> audit,
                              Serde<io.capstream.schemas.BillingAdjustment> adjustments) {}

    private UsageTopology() {}

    /**
     * The topology with {@code usage-aggregates} as the changelog of the limits store (the running totals): a changed total
     * is one record, read by the sidecars and restored from after a crash, on a standby or on a moved partition, instead of
     * a changelog record and the same value again on the topic. Kafka Streams does this for a table read from a topic (the
     * source topic reused as its changelog, the store's own logging off); the public API has no way to name a changelog, so
     * this goes through the topology's internal builder, as {@code StreamsBuilder} does. {@link TotalsStore} writes the
     * topic as a changelog is written: a task's totals to the task's partition (so usage-aggregates has as many partitions
     * as usage-events, which Kafka Streams checks at start).
     */
    static final class AggregatesAsChangelog extends Topology {
        AggregatesAsChangelog(String usageAggregates) {
            internalTopologyBuilder.connectSourceStoreAndTopic(LIMITS_STORE, usageAggregates);
        }
    }

    public static Topology build(Topics topics, Duration lateWindow, TopicSerdes serdes) {
        return build(topics, lateWindow, serdes, new ReservationBook(Duration.ofMinutes(10), java.time.Clock.systemUTC()));
    }

    /**
     * @param reservations the strict-mode reservations of this instance: restored from the tasks' stores when a task
     *                     starts here, settled when a booked event carries one
     */
    public static Topology build(Topics topics, Duration lateWindow, TopicSerdes serdes, ReservationBook reservations) {
        return build(topics, new EventTimeWindow(lateWindow), serdes, reservations, SeriesRetention.DEFAULT);
    }

    /** @param retention how long the usage series keep hourly and daily buckets */
    public static Topology build(Topics topics, EventTimeWindow window, TopicSerdes serdes, ReservationBook reservations, SeriesRetention retention) {
        return build(topics, window, serdes, reservations, retention, EventArchive.kafka(topics.usageEvents(), serdes.usageEvents().deserializer()));
    }

    /** @param archive where amendments read the events they take back (usage-events; a test's own under the test driver) */
    static Topology build(Topics topics, EventTimeWindow window, TopicSerdes serdes, ReservationBook reservations, SeriesRetention retention,
                          EventArchive.Opener archive) {
        PolicyCache policies = new PolicyCache();
        Topology topology = new AggregatesAsChangelog(topics.usageAggregates());
        topology.addGlobalStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(POLICY_STORE), Serdes.String(),
                        new InternalAvroSerde<>(PolicyRecord.class)).withLoggingDisabled(),
                POLICY_SOURCE, Serdes.String().deserializer(), serdes.policy().deserializer(), topics.policy(),
                POLICY_UPDATE, () -> new PolicyStoreUpdater(policies));

        topology.addSource(EVENTS_SOURCE, Serdes.String().deserializer(), serdes.usageEvents().deserializer(), topics.usageEvents());
        topology.addSource(CUSTOMERS_SOURCE, Serdes.String().deserializer(), serdes.customers().deserializer(), topics.customers());
        topology.addProcessor(PRICE, () -> new PriceProcessor(window, policies), EVENTS_SOURCE);
        topology.addProcessor(DEDUP, () -> new DedupProcessor(DEDUP_STORE, window.dedupWindow()), PRICE);
        topology.addProcessor(CUSTOMER_UPDATE, CustomerUpdateProcessor::new, CUSTOMERS_SOURCE);
        // one processor applies both events and configuration changes: one ledger per task sees every change
        topology.addProcessor(ACCOUNT, () -> new AccountProcessor(window, policies, reservations, retention.enabled(), archive), DEDUP, CUSTOMER_UPDATE);
        topology.addSource(RESERVATIONS_SOURCE, Serdes.String().deserializer(), serdes.reservations().deserializer(), topics.reservations());
        topology.addProcessor(RESERVATION_UPDATE, () -> new ReservationProcessor(reservations), RESERVATIONS_SOURCE);

        topology.addStateStore(DedupProcessor.store(DEDUP_STORE, window.dedupWindow()), DEDUP, ACCOUNT);
        // a running total changed by many events between two commits is written to RocksDB and to usage-aggregates, the
        // store's changelog, once per commit (TotalsStore: flushed before the transaction commits, still exactly once); the
        // store's values are in the topic's wire format, encoded once for both
        topology.addStateStore(TotalsStore.builder(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(LIMITS_STORE), Serdes.String(),
                serdes.usageAggregates()).withLoggingDisabled(), serdes.usageAggregates()), ACCOUNT);
        if (retention.enabled()) {
            // usage over time: each event also adds to its customer's local hour (SeriesBook), written once per commit (SeriesStore);
            // a day is rolled up from its hours once it has ended
            topology.addStateStore(SeriesStore.builder(Stores.windowStoreBuilder(Stores.persistentWindowStore(SERIES_HOURLY_STORE, retention.hourly(),
                    Duration.ofHours(1), false), Serdes.String(), new InternalAvroSerde<>(UsageBucket.class))), ACCOUNT);
            topology.addStateStore(SeriesStore.builder(Stores.windowStoreBuilder(Stores.persistentWindowStore(SERIES_DAILY_STORE, retention.daily(),
                    Duration.ofDays(1), false), Serdes.String(), new InternalAvroSerde<>(UsageBucket.class))), ACCOUNT);
            topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(SERIES_ROLLUPS_STORE), Serdes.String(),
                    new SeriesBook.RollupSerde()), ACCOUNT);
        }
        // the billing periods whose final totals were written, while late usage can still come for them (Ledger.closePeriods)
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(FINALS_STORE), Serdes.String(), Serdes.Long()), ACCOUNT);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(CUSTOMERS_STORE), Serdes.String(),
                new InternalAvroSerde<>(CustomerRecord.class)).withCachingEnabled(), ACCOUNT, CUSTOMER_UPDATE);
        // the sidecars' refusals and downgrades per customer, for the portal; the store is also the account processor's, so
        // the decisions source is in the same sub-topology (co-partitioned: the task of a customer's usage keeps its decisions)
        topology.addSource(DECISIONS_SOURCE, Serdes.String().deserializer(), serdes.decisions().deserializer(), topics.enforcementDecisions());
        topology.addProcessor(RECENT_DECISIONS, RecentDecisionsProcessor::new, DECISIONS_SOURCE);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(RECENT_DECISIONS_STORE), Serdes.String(),
                new InternalAvroSerde<>(RecentDecisions.class)), RECENT_DECISIONS, ACCOUNT);
        // each customer's open runaway circuit breakers (RunawayWatch), also on runaway-breakers for the sidecars
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(RUNAWAY_STORE), Serdes.String(),
                new InternalAvroSerde<>(RunawayState.class)), ACCOUNT);
        // each customer's audit trail from the control API's audit-log (co-partitioned: in the task of the customer's usage)
        topology.addSource(AUDIT_SOURCE, Serdes.String().deserializer(), serdes.audit().deserializer(), topics.auditLog());
        topology.addProcessor(AUDIT_HISTORY, AuditHistoryProcessor::new, AUDIT_SOURCE);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(AUDIT_STORE), Serdes.String(),
                new InternalAvroSerde<>(AuditEntry.class)), AUDIT_HISTORY, ACCOUNT);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(RESERVATIONS_STORE), Serdes.String(),
                new InternalAvroSerde<>(ReservationRecord.class)), RESERVATION_UPDATE, ACCOUNT);

        topology.addSink(THRESHOLDS_SINK, topics.thresholdEvents(), new CustomerKey(), erase(serdes.thresholdEvents()), ACCOUNT);
        topology.addSink(TOTALS_SINK, topics.billingPeriodTotals(), Serdes.String().serializer(), erase(serdes.periodTotals()), ACCOUNT);
        topology.addSink(ADJUSTMENTS_SINK, topics.billingAdjustments(), Serdes.String().serializer(), erase(serdes.adjustments()), ACCOUNT);
        topology.addSink(RUNAWAY_SINK, topics.runawayBreakers(), Serdes.String().serializer(), erase(serdes.runaway()), ACCOUNT);

        // decision metrics (docs/analytics.md): each decision record (with its customer's plan) and each breaker trip goes
        // through enforcement-metrics-input, keyed plan|feature, to the one task that keeps that plan's and feature's windows
        topology.addProcessor(METRICS_ROUTER, () -> new DecisionMetricsRouter(policies), DECISIONS_SOURCE);
        topology.connectProcessorAndStateStores(METRICS_ROUTER, CUSTOMERS_STORE, LIMITS_STORE);
        topology.addSink(METRICS_INPUT_SINK, topics.enforcementMetricsInput(), Serdes.String().serializer(), erase(serdes.metricsInput()),
                METRICS_ROUTER, ACCOUNT);
        topology.addSource(METRICS_INPUT_SOURCE, Serdes.String().deserializer(), serdes.metricsInput().deserializer(), topics.enforcementMetricsInput());
        topology.addProcessor(METRICS, DecisionMetricsProcessor::new, METRICS_INPUT_SOURCE);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(METRICS_STORE), Serdes.String(),
                new InternalAvroSerde<>(EnforcementMetrics.class)), METRICS);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(METRICS_CUSTOMERS_STORE), Serdes.String(),
                Serdes.Long()), METRICS);
        topology.addStateStore(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(METRICS_WINDOWS_STORE), Serdes.String(),
                Serdes.Long()), METRICS);
        topology.addSink(METRICS_SINK, topics.enforcementMetrics(), Serdes.String().serializer(), erase(serdes.metrics()), METRICS);
        return topology;
    }

    static Ledger ledger(ProcessorContext<?, ?> context, EventTimeWindow window, PolicyCache policies, boolean series) {
        return new Ledger(context.getStateStore(LIMITS_STORE), context.getStateStore(FINALS_STORE), context.getStateStore(CUSTOMERS_STORE),
                policies.reading(context.getStateStore(POLICY_STORE)), window,
                series ? new SeriesBook(context.getStateStore(SERIES_HOURLY_STORE), context.getStateStore(SERIES_DAILY_STORE),
                        context.getStateStore(SERIES_ROLLUPS_STORE)) : null,
                new RunawayWatch(context.getStateStore(RUNAWAY_STORE), series ? context.getStateStore(SERIES_HOURLY_STORE) : null));
    }

    @SuppressWarnings("unchecked")
    private static Serializer<Object> erase(Serde<?> serde) {
        return (Serializer<Object>) serde.serializer();
    }

    /** Threshold events are keyed by customer: the ledger's key is {@code customer|...}. */
    private static final class CustomerKey implements Serializer<String> {
        @Override
        public byte[] serialize(String topic, String key) {
            int bar = key.indexOf('|');
            return Serdes.String().serializer().serialize(topic, bar < 0 ? key : key.substring(0, bar));
        }
    }
}

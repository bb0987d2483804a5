package io.capstream.aggregator.topology;

import io.capstream.policy.limit.Period;
import io.capstream.schemas.EnforcementMetrics;
import io.capstream.schemas.MetricsContribution;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps the decision metrics of the plans and features whose contributions this task reads
 * ({@code enforcement-metrics-input}, key {@code plan|feature}: one plan and feature, one task), per UTC
 * day and week ({@link DecisionMetrics}), and emits each changed window to {@code enforcement-metrics}.
 * Distinct customers are counted with a store of the customers already counted per window and kind,
 * forgotten {@value #DISTINCT_KEPT_DAYS} days after their window ended. Exactly once like the rest of
 * the topology: the stores, the input offsets and the output commit together.
 */
final class DecisionMetricsProcessor extends ContextualProcessor<String, MetricsContribution, String, EnforcementMetrics> {
    static final long DISTINCT_KEPT_DAYS = 14;
    private KeyValueStore<String, EnforcementMetrics> metrics;
    /**
     * window end|window key|kind|customer → the window's end (epoch ms). The key starts with the window's end, zero-padded,
     * so that forgetting old windows reads only them (a range), not every customer counted in the last weeks.
     */
    private KeyValueStore<String, Long> counted;

    @Override
    public void init(ProcessorContext<String, EnforcementMetrics> context) {
        super.init(context);
        metrics = context.getStateStore(UsageTopology.METRICS_STORE);
        counted = context.getStateStore(UsageTopology.METRICS_CUSTOMERS_STORE);
        context.schedule(Duration.ofHours(1), PunctuationType.WALL_CLOCK_TIME, now -> forgetCounted(Instant.ofEpochMilli(now)));
    }

    @Override
    public void process(Record<String, MetricsContribution> record) {
        MetricsContribution c = record.value();
        if (c == null) {
            return;
        }
        for (String granularity : DecisionMetrics.GRANULARITIES) {
            Period window = DecisionMetrics.window(granularity, c.getAt());
            String key = DecisionMetrics.key(c.getPlan(), c.getFeature(), granularity, window.start());
            EnforcementMetrics m = metrics.get(key);
            if (m == null) {
                m = DecisionMetrics.empty(c.getPlan(), c.getFeature(), granularity, window);
                forgetWindows(c.getPlan(), c.getFeature(), granularity, DecisionMetrics.keptFrom(granularity, window.start()), record.timestamp());
            }
            DecisionMetrics.add(m, c);
            for (String kind : DecisionMetrics.customerKinds(c)) {
                String seen = endKey(window.end().toEpochMilli()) + '|' + key + '|' + kind + '|' + c.getCustomer();
                if (counted.get(seen) == null) {
                    counted.put(seen, window.end().toEpochMilli());
                    DecisionMetrics.countCustomer(m, kind);
                }
            }
            m.setUpdatedAt(Instant.ofEpochMilli(record.timestamp()));
            metrics.put(key, m);
            context().forward(record.withKey(key).withValue(m));
        }
    }

    /**
     * Deletes the plan's and feature's windows of {@code granularity} that start before {@code keptFrom}, in the store and (a
     * tombstone) on {@code enforcement-metrics}. The keys of one plan, feature and granularity sort by their window's start (an
     * ISO instant at midnight), so this reads only those windows.
     */
    private void forgetWindows(String plan, String feature, String granularity, Instant keptFrom, long timestamp) {
        String prefix = DecisionMetrics.key(plan, feature, granularity, Instant.EPOCH);
        prefix = prefix.substring(0, prefix.lastIndexOf('|') + 1);
        String before = prefix + keptFrom;
        List<String> old = new ArrayList<>();
        try (KeyValueIterator<String, EnforcementMetrics> it = metrics.range(prefix, before)) {
            it.forEachRemaining(kv -> {
                if (kv.key.compareTo(before) < 0) {
                    old.add(kv.key);
                }
            });
        }
        for (String key : old) {
            metrics.delete(key);
            context().forward(new Record<String, EnforcementMetrics>(key, null, timestamp));
        }
    }

    /** Forgets which customers were counted in windows that ended long ago (their counts stay); reads only those. */
    private void forgetCounted(Instant now) {
        long before = now.minus(Duration.ofDays(DISTINCT_KEPT_DAYS)).toEpochMilli();
        List<String> old = new ArrayList<>();
        // keys of windows that ended before `before` sort below its padded end, which no key equals (keys go on with '|')
        try (KeyValueIterator<String, Long> it = counted.range(null, endKey(before))) {
            it.forEachRemaining(kv -> old.add(kv.key));
        }
        old.forEach(counted::delete);
    }

    /** A window's end as 15 digits (epoch ms, zero-padded): string order is time order. */
    private static String endKey(long end) {
        String digits = Long.toString(end);
        return "0".repeat(Math.max(0, 15 - digits.length())) + digits;
    }
}

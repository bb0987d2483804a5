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
 * forgotten {@value #DISTINCT_KEPT_DAYS} days after their window ended. A window is deleted (a tombstone on
 * {@code enforcement-metrics}) once it is older than the {@value DecisionMetrics#KEPT_WINDOWS} windows kept: when its
 * plan and feature open a new one, and in any case by an hourly look at the windows by their start
 * ({@code enforcement-metrics-windows-store}), so that a plan and feature never seen again do not keep theirs for ever.
 * Exactly once like the rest of the topology: the stores, the input offsets and the output commit together.
 */
final class DecisionMetricsProcessor extends ContextualProcessor<String, MetricsContribution, String, EnforcementMetrics> {
    static final long DISTINCT_KEPT_DAYS = 14;
    private KeyValueStore<String, EnforcementMetrics> metrics;
    /**
     * window end|window key|kind|customer → the window's end (epoch ms). The key starts with the window's end, zero-padded,
     * so that forgetting old windows reads only them (a range), not every customer counted in the last weeks.
     */
    private KeyValueStore<String, Long> counted;
    /** granularity|window start|window key → the window's start (epoch ms): the windows by their start, zero-padded. */
    private KeyValueStore<String, Long> windows;

    @Override
    public void init(ProcessorContext<String, EnforcementMetrics> context) {
        super.init(context);
        metrics = context.getStateStore(UsageTopology.METRICS_STORE);
        counted = context.getStateStore(UsageTopology.METRICS_CUSTOMERS_STORE);
        windows = context.getStateStore(UsageTopology.METRICS_WINDOWS_STORE);
        context.schedule(Duration.ofHours(1), PunctuationType.WALL_CLOCK_TIME, now -> {
            forgetCounted(Instant.ofEpochMilli(now));
            forgetOldWindows(Instant.ofEpochMilli(now));
        });
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
                windows.put(windowsKey(granularity, key), window.start().toEpochMilli());
                forgetWindows(c.getPlan(), c.getFeature(), granularity, DecisionMetrics.keptFrom(granularity, window.start()), record.timestamp());
            }
            DecisionMetrics.add(m, c);
            for (String kind : DecisionMetrics.customerKinds(c)) {
                String seen = padded(window.end().toEpochMilli()) + '|' + key + '|' + kind + '|' + c.getCustomer();
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
            forget(granularity, key, timestamp);
        }
    }

    /**
     * Deletes every window older than the windows kept at {@code now} (wall-clock time): those whose plan and feature opened
     * none since. Reads only them (a range of the windows by their start).
     */
    private void forgetOldWindows(Instant now) {
        for (String granularity : DecisionMetrics.GRANULARITIES) {
            Instant keptFrom = DecisionMetrics.keptFrom(granularity, DecisionMetrics.window(granularity, now).start());
            List<String> old = new ArrayList<>();
            // the keys of windows that start before keptFrom sort below granularity|padded(keptFrom), which no key equals
            try (KeyValueIterator<String, Long> it = windows.range(granularity + '|', granularity + '|' + padded(keptFrom.toEpochMilli()))) {
                it.forEachRemaining(kv -> old.add(kv.key.substring(granularity.length() + 1 + PADDED + 1)));
            }
            for (String key : old) {
                forget(granularity, key, now.toEpochMilli());
            }
        }
    }

    /** A window gone: from the store, its index entry, and a tombstone on {@code enforcement-metrics}. */
    private void forget(String granularity, String key, long timestamp) {
        metrics.delete(key);
        windows.delete(windowsKey(granularity, key));
        context().forward(new Record<String, EnforcementMetrics>(key, null, timestamp));
    }

    /** A window's entry among the windows by their start; its key ends with the window's start (an ISO instant). */
    private static String windowsKey(String granularity, String key) {
        return granularity + '|' + padded(Instant.parse(key.substring(key.lastIndexOf('|') + 1)).toEpochMilli()) + '|' + key;
    }

    /** Forgets which customers were counted in windows that ended long ago (their counts stay); reads only those. */
    private void forgetCounted(Instant now) {
        long before = now.minus(Duration.ofDays(DISTINCT_KEPT_DAYS)).toEpochMilli();
        List<String> old = new ArrayList<>();
        // keys of windows that ended before `before` sort below its padded end, which no key equals (keys go on with '|')
        try (KeyValueIterator<String, Long> it = counted.range(null, padded(before))) {
            it.forEachRemaining(kv -> old.add(kv.key));
        }
        old.forEach(counted::delete);
    }

    private static final int PADDED = 15;

    /** A time as {@value #PADDED} digits (epoch ms, zero-padded): string order is time order. */
    private static String padded(long epochMillis) {
        String digits = Long.toString(epochMillis);
        return "0".repeat(Math.max(0, PADDED - digits.length())) + digits;
    }
}

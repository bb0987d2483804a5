package io.capstream.aggregator.topology;

import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.RecentDecisions;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps each customer's last {@value #KEPT} refused and downgraded requests from the sidecars' decision
 * log ({@code enforcement-decisions}), newest first, for the customer portal ("why was I refused?").
 * Allows and warnings are not kept. The topic is keyed by customer and co-partitioned with
 * {@code usage-events}, so the task that owns a customer's usage owns its decisions too.
 */
final class RecentDecisionsProcessor extends ContextualProcessor<String, EnforcementDecision, Void, Void> {
    static final int KEPT = 20;
    private KeyValueStore<String, RecentDecisions> store;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        super.init(context);
        store = context.getStateStore(UsageTopology.RECENT_DECISIONS_STORE);
    }

    @Override
    public void process(Record<String, EnforcementDecision> record) {
        EnforcementDecision d = record.value();
        if (d == null || record.key() == null || !("refuse".equals(d.getDecision()) || "downgrade".equals(d.getDecision()))) {
            return;
        }
        RecentDecisions before = store.get(record.key());
        List<EnforcementDecision> kept = new ArrayList<>(KEPT + 1);
        if (before != null) {
            kept.addAll(before.getDecisions());
        }
        kept.add(d);
        kept.sort((a, b) -> b.getAt().compareTo(a.getAt())); // several sidecars' records interleave: newest first by when they were decided
        store.put(record.key(), new RecentDecisions(kept.size() > KEPT ? new ArrayList<>(kept.subList(0, KEPT)) : kept));
    }
}

package io.capstream.aggregator.topology;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.MetricsContribution;
import java.util.function.Supplier;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Sends each decision record of the sidecars' log on to the decision metrics of its customer's plan and
 * its feature ({@code enforcement-metrics-input}, key {@code plan|feature}, read by {@link DecisionMetricsProcessor}).
 * The decisions are keyed by customer and co-partitioned with the customers, so the plan is this task's
 * customers store's (the policy's default plan for a customer nobody configured).
 */
final class DecisionMetricsRouter extends ContextualProcessor<String, EnforcementDecision, String, MetricsContribution> {
    private final PolicyCache policies;
    private KeyValueStore<String, CustomerRecord> customers;
    private Supplier<PolicyDocument> policy;

    DecisionMetricsRouter(PolicyCache policies) {
        this.policies = policies;
    }

    @Override
    public void init(ProcessorContext<String, MetricsContribution> context) {
        super.init(context);
        customers = context.getStateStore(UsageTopology.CUSTOMERS_STORE);
        policy = policies.reading(context.getStateStore(UsageTopology.POLICY_STORE));
    }

    @Override
    public void process(Record<String, EnforcementDecision> record) {
        EnforcementDecision d = record.value();
        if (d == null || record.key() == null) {
            return;
        }
        String plan = plan(customers, policy, d.getCustomer());
        MetricsContribution c = MetricsContribution.newBuilder().setPlan(plan).setFeature(d.getFeature()).setCustomer(d.getCustomer())
                .setAt(d.getAt()).setKind(DecisionMetrics.DECISION).setDecision(d.getDecision()).setCode(d.getCode())
                .setRepresents(d.getRepresents()).setCost(d.getCost()).setSavings(d.getSavings()).build();
        context().forward(record.withKey(DecisionMetrics.key(plan, d.getFeature())).withValue(c));
    }

    /** A customer's plan: its record's, or the policy's default plan; {@link DecisionMetrics#NO_PLAN} without either. */
    static String plan(KeyValueStore<String, CustomerRecord> customers, Supplier<PolicyDocument> policy, String customer) {
        CustomerRecord r = customers.get(customer);
        if (r != null && r.getPlan() != null) {
            return r.getPlan();
        }
        PolicyDocument doc = policy.get();
        return doc == null ? DecisionMetrics.NO_PLAN : doc.defaultPlan().orElse(DecisionMetrics.NO_PLAN);
    }
}

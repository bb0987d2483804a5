package io.capstream.aggregator.topology;

import io.capstream.policy.booking.Booking;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.Account;
import io.capstream.policy.limit.Period;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.topics.UsageKey;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.MetricsContribution;
import java.util.HashSet;
import java.util.Map;
import java.util.Set;
import java.util.function.Supplier;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Sends each decision record of the sidecars' log on to the decision metrics of its customer's plan and
 * its feature, bounded as the feature totals are ({@link #feature}): {@code enforcement-metrics-input}, key
 * {@code plan|feature}, read by {@link DecisionMetricsProcessor}.
 * The decisions are keyed by customer and co-partitioned with the customers, so the plan is this task's
 * customers store's (the policy's default plan for a customer nobody configured).
 */
final class DecisionMetricsRouter extends ContextualProcessor<String, EnforcementDecision, String, MetricsContribution> {
    private final PolicyCache policies;
    private KeyValueStore<String, CustomerRecord> customers;
    private TotalsStore limits;
    private FullPeriods fullPeriods;
    /**
     * customer|billing period start → the features without usage yet that the period's decisions count under their own name
     * (at most {@link Booking#MAX_FEATURE_TOTALS} each): in memory, so a task started again may count up to as many again.
     */
    private final Map<String, Set<String>> unused = Lru.of(5_000);
    private Supplier<PolicyDocument> policy;

    DecisionMetricsRouter(PolicyCache policies) {
        this.policies = policies;
    }

    @Override
    public void init(ProcessorContext<String, MetricsContribution> context) {
        super.init(context);
        customers = context.getStateStore(UsageTopology.CUSTOMERS_STORE);
        limits = context.getStateStore(UsageTopology.LIMITS_STORE);
        fullPeriods = new FullPeriods(limits);
        unused.clear();
        policy = policies.reading(context.getStateStore(UsageTopology.POLICY_STORE));
    }

    @Override
    public void process(Record<String, EnforcementDecision> record) {
        EnforcementDecision d = record.value();
        if (d == null || record.key() == null) {
            return;
        }
        String plan = plan(customers, policy, d.getCustomer());
        String feature = feature(d);
        MetricsContribution c = MetricsContribution.newBuilder().setPlan(plan).setFeature(feature).setCustomer(d.getCustomer())
                .setAt(d.getAt()).setKind(DecisionMetrics.DECISION).setDecision(d.getDecision()).setCode(d.getCode())
                .setRepresents(d.getRepresents()).setCost(d.getCost()).setSavings(d.getSavings()).build();
        context().forward(record.withKey(DecisionMetrics.key(plan, feature)).withValue(c));
    }

    /**
     * The feature a decision counts under: its own where the customer's usage of it is totalled under it in the billing period
     * of the decision, or a limit or grant of the customer names it, or — a feature the customer has not used yet in the
     * period, checked before its first usage or refused — while the period has room for more feature totals, for the first
     * {@link Booking#MAX_FEATURE_TOTALS} such features this task has seen of the customer in the period;
     * {@link Booking#OTHER_FEATURE} otherwise. A check names any feature its key likes and never opens a total: without the
     * bound, checks of ever new features would open ever new windows of metrics in every instance's view.
     */
    private String feature(EnforcementDecision d) {
        PolicyDocument doc = policy.get();
        if (doc == null) {
            return d.getFeature();
        }
        CustomerRecord r = customers.get(d.getCustomer());
        Customer customer = r == null ? Customer.unconfigured(d.getCustomer(), doc.defaultPlan().orElse(null)) : CustomerMapping.fromRecord(r);
        Period billing = new ResetSchedule.Monthly(customer.billingAnchorDay()).periodAt(d.getAt(), customer.timezone());
        String feature = d.getFeature();
        if (fullPeriods.totalFeature(Account.of(customer, doc), feature, billing,
                (id, start) -> limits.total(UsageKey.of(customer.id(), id, start)), false).equals(feature)) {
            return feature;
        }
        Set<String> seen = unused.computeIfAbsent(customer.id() + '|' + billing.start(), k -> new HashSet<>());
        if (seen.contains(feature)) {
            return feature;
        }
        // the period's feature totals are counted (a scan of the customer's keys) at most once per feature seen here
        if (seen.size() < Booking.MAX_FEATURE_TOTALS && fullPeriods.hasRoom(customer.id(), billing.start())) {
            seen.add(feature);
            return feature;
        }
        return Booking.OTHER_FEATURE;
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

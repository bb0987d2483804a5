package io.capstream.enforcement;

import io.capstream.policy.CheckRequest;
import io.capstream.policy.Customer;
import io.capstream.policy.Decision;
import io.capstream.policy.Enforcement;
import io.capstream.policy.Plan;
import io.capstream.policy.PolicyDocument;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.mapping.ParsedPolicy;
import io.capstream.schemas.topics.TopicView;
import io.capstream.schemas.topics.Topics;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * The hot-path check (DESIGN 4.5): {@code check(request) → Decision} from local state only —
 * customers, the policy and every limit's running total, kept current by consuming the compacted
 * topics the pipeline writes — plus the requests this instance allowed whose usage has not arrived
 * yet. The rules are {@link Enforcement}'s.
 */
public final class Enforcer {
    private final TopicView<CustomerRecord> customers;
    private final TopicView<PolicyRecord> policies;
    private final TopicView<LimitUsage> usage;
    private final LocalPending pending;
    private final BurstLimiter bursts = new BurstLimiter();
    private final ParsedPolicy parsed = new ParsedPolicy();
    private final Clock clock;

    public Enforcer(TopicView<CustomerRecord> customers, TopicView<PolicyRecord> policies, TopicView<LimitUsage> usage,
                    Duration pendingFor, Clock clock) {
        this.customers = customers;
        this.policies = policies;
        this.usage = usage;
        this.pending = new LocalPending(pendingFor, clock);
        this.clock = clock;
    }

    /** Whether the local state has been loaded; before that, checks fail open or closed as the plan says. */
    public boolean ready() {
        return customers.caughtUp() && policies.caughtUp() && usage.caughtUp();
    }

    public Decision check(CheckRequest request) {
        Optional<PolicyRecord> policyRecord = policies.get(Topics.POLICY_KEY);
        if (policyRecord.isEmpty()) {
            return Decision.refused("usage_state_unavailable", 503, "No policy document has been applied yet.", Optional.empty(),
                    Optional.of(Duration.ofSeconds(5)));
        }
        PolicyDocument policy = parsed.parse(policyRecord.get());
        Customer customer = customers.get(request.customer()).map(CustomerMapping::fromRecord)
                .orElseGet(() -> Customer.unconfigured(request.customer(), policy.defaultPlan().orElse(null)));
        Optional<Plan> plan = policy.plan(customer.plan());
        Instant now = clock.instant();
        if (!ready()) {
            boolean failOpen = plan.map(Plan::failOpen).orElse(true);
            if (!failOpen) {
                return Decision.refused("usage_state_unavailable", 503, "Usage state is not available yet; try again shortly.",
                        Optional.empty(), Optional.of(Duration.ofSeconds(1)));
            }
        }
        Decision decision = Enforcement.decide(request, customer, policy,
                (limitId, periodStart) -> used(customer.id(), limitId, periodStart), bursts.refusal(request, plan), now);
        if (decision.allowsRequest()) {
            pending.add(request, customer, policy, decision.model().orElse(request.model()), now);
        }
        return ready() ? decision : decision.asDegraded();
    }

    private BigDecimal used(String customer, String limitId, Instant periodStart) {
        String key = customer + '|' + limitId + '|' + periodStart;
        BigDecimal known = usage.get(key).map(LimitUsage::getUsed).orElse(BigDecimal.ZERO);
        return known.add(pending.sum(key));
    }
}

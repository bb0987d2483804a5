package io.capstream.enforcement;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.Decision;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.topics.KeyedState;
import io.capstream.schemas.topics.Topics;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The Enforcer over in-memory state: freshness, pending estimates, fail open and closed, the decision log. */
class EnforcerTest {
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");
    static final String POLICY = """
            models:
              gpt-4o-mini: {tier: standard, prices: {input_tokens: "1/1M"}}
            plans:
              free: {price: "0", default_caps: [{id: budget, amount: "1", period: billing}]}
              pro:  {price: "20", default_caps: [{id: budget, amount: "1", period: billing}]}
            default_plan: free
            """;

    static final class State<V> implements KeyedState<V> {
        final Map<String, V> values = new HashMap<>();
        boolean caughtUp = true;
        Instant lastHeard = NOW;

        public Optional<V> get(String key) {
            return Optional.ofNullable(values.get(key));
        }

        public boolean caughtUp() {
            return caughtUp;
        }

        public Instant lastHeard() {
            return lastHeard;
        }
    }

    final State<CustomerRecord> customers = new State<>();
    final State<PolicyRecord> policies = new State<>();
    final State<LimitUsage> usage = new State<>();
    final List<Decision> logged = new ArrayList<>();
    final Enforcer enforcer = Enforcer.builder(customers, policies, usage).pendingFor(Duration.ofSeconds(10)).stalenessBound(Duration.ofSeconds(30))
            .listener((request, decision, at) -> logged.add(decision)).clock(Clock.fixed(NOW, ZoneOffset.UTC)).build();

    EnforcerTest() {
        policies.values.put(Topics.POLICY_KEY, PolicyRecord.newBuilder().setName(Topics.POLICY_KEY).setVersion("1").setSource(POLICY)
                .setAppliedAt(NOW).build());
        customers.values.put("paying", CustomerMapping.toRecord(Customer.unconfigured("paying", "pro"), NOW));
    }

    static CheckRequest request(String customer, long tokens) {
        return new CheckRequest(customer, null, null, "chat", "gpt-4o-mini", Map.of("input_tokens", BigDecimal.valueOf(tokens)), Optional.empty());
    }

    @Test
    void requestsAllowedButNotYetCountedStillCountLocally() {
        // $0.40 each against a $1 budget: the third would pass it although no usage has arrived
        assertThat(enforcer.check(request("paying", 400_000)).allowsRequest()).isTrue();
        assertThat(enforcer.check(request("paying", 400_000)).allowsRequest()).isTrue();
        Decision third = enforcer.check(request("paying", 400_000));
        assertThat(third.code()).isEqualTo(Decision.Code.SPEND_CAP_REACHED);
        assertThat(third.limit().orElseThrow().used()).isEqualTo("0.80");
    }

    @Test
    void staleStateFailsOpenForPaidPlansMarkedDegradedAndClosedForFreeOnes() {
        usage.lastHeard = NOW.minusSeconds(31);

        Decision paid = enforcer.check(request("paying", 1));
        assertThat(paid.allowsRequest()).isTrue();
        assertThat(paid.degraded()).isTrue();

        Decision free = enforcer.check(request("stranger", 1));
        assertThat(SidecarApi.status(free)).isEqualTo(503);
        assertThat(free.code()).isEqualTo(Decision.Code.USAGE_STATE_UNAVAILABLE);
        assertThat(free.degraded()).isTrue();
    }

    @Test
    void everyDecisionReachesTheLog() {
        enforcer.check(request("paying", 1));
        enforcer.check(request("paying", 2_000_000));
        assertThat(logged).extracting(Decision::code).containsExactly(Decision.Code.ALLOW, Decision.Code.SPEND_CAP_REACHED);
    }
}

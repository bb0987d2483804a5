package io.capstream.enforcement;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.RunawayBreaker;
import io.capstream.schemas.RunawayState;
import io.capstream.schemas.topics.Topics;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** Open runaway breakers as the sidecar applies them: block, a key's own breaker, throttle to the baseline, notify, and closing by itself. */
class RunawayEnforcerTest {
    static final Instant NOW = Instant.parse("2026-11-23T15:10:20Z");
    static final String POLICY = """
            meters:
              requests: {price: "1"}
            plans:
              pro: {price: "20"}
            default_plan: pro
            """;

    final EnforcerTest.State<io.capstream.schemas.CustomerRecord> customers = new EnforcerTest.State<>();
    final EnforcerTest.State<PolicyRecord> policies = new EnforcerTest.State<>();
    final EnforcerTest.State<io.capstream.schemas.LimitUsage> usage = new EnforcerTest.State<>();
    final EnforcerTest.State<RunawayState> runaway = new EnforcerTest.State<>();
    final AtomicReference<Instant> now = new AtomicReference<>(NOW);
    final Enforcer enforcer;

    RunawayEnforcerTest() {
        usage.lastHeard = NOW.plus(Duration.ofDays(1)); // fresh for every time the tests move to
        policies.values.put(Topics.POLICY_KEY, PolicyRecord.newBuilder().setName(Topics.POLICY_KEY).setVersion("1").setSource(POLICY)
                .setAppliedAt(NOW).build());
        Clock clock = new Clock() {
            public java.time.ZoneId getZone() { return ZoneOffset.UTC; }
            public Clock withZone(java.time.ZoneId zone) { return this; }
            public Instant instant() { return now.get(); }
        };
        enforcer = Enforcer.builder(customers, policies, usage).clock(clock).runaway(runaway).build();
    }

    static CheckRequest requests(String apiKey, long n) {
        return new CheckRequest("acme", null, apiKey, "chat", null, Map.of("requests", BigDecimal.valueOf(n)), Optional.empty());
    }

    void open(String apiKey, String action) {
        runaway.values.put("acme", new RunawayState("acme", List.of(new RunawayBreaker(apiKey, action, new BigDecimal("6"), new BigDecimal("0.5"),
                new BigDecimal("5"), NOW.minusSeconds(20), NOW.plus(Duration.ofMinutes(15)).minusSeconds(20))), "America/New_York"));
    }

    @Test
    void aBlockingBreakerRefusesEveryRequestWith429UntilItClosesBySelf() {
        open(null, "block");
        Decision d = enforcer.check(requests("key_1", 1));
        assertThat(d.code()).isEqualTo(Decision.Code.CIRCUIT_OPEN);
        assertThat(SidecarApi.status(d)).isEqualTo(429);
        assertThat(d.retryAfter()).contains(Duration.ofMinutes(14).plusSeconds(40));
        assertThat(d.message()).contains("ran at $6.00 a minute, 12 times its usual $0.50").contains("POST /v1/customers/acme/runaway/reset");
        now.set(NOW.plus(Duration.ofMinutes(15))); // its cool-down has passed: allowed even before the aggregator's tombstone arrives
        assertThat(enforcer.check(requests("key_1", 1)).code()).isEqualTo(Decision.Code.ALLOW);
    }

    @Test
    void aKeysBreakerStopsThatKeyOnly() {
        open("key_leaked", "block");
        assertThat(enforcer.check(requests("key_leaked", 1)).code()).isEqualTo(Decision.Code.CIRCUIT_OPEN);
        assertThat(enforcer.check(requests("key_ok", 1)).code()).isEqualTo(Decision.Code.ALLOW);
        assertThat(enforcer.check(requests(null, 1)).code()).isEqualTo(Decision.Code.ALLOW);
    }

    @Test
    void aThrottlingBreakerLetsTheBaselineThroughEachMinute() {
        open(null, "throttle");
        // the baseline is $0.50 a minute: requests of $0.25 (a quarter of a request each) twice, then none until the next minute
        CheckRequest quarter = new CheckRequest("acme", null, null, "chat", null, Map.of("requests", new BigDecimal("0.25")), Optional.empty());
        assertThat(enforcer.check(quarter).code()).isEqualTo(Decision.Code.ALLOW);
        assertThat(enforcer.check(quarter).code()).isEqualTo(Decision.Code.ALLOW);
        Decision third = enforcer.check(quarter);
        assertThat(third.code()).isEqualTo(Decision.Code.CIRCUIT_OPEN);
        assertThat(third.retryAfter()).contains(Duration.ofSeconds(40)); // 15:10:20 → 15:11:00
        assertThat(third.message()).contains("held to its usual $0.50 a minute");
        now.set(NOW.plusSeconds(40));
        assertThat(enforcer.check(quarter).code()).isEqualTo(Decision.Code.ALLOW);
    }

    @Test
    void aNotifyingBreakerRefusesNothing() {
        open(null, "notify");
        assertThat(enforcer.check(requests("key_1", 1)).code()).isEqualTo(Decision.Code.ALLOW);
    }
}

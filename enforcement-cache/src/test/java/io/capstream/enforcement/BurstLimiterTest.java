package io.capstream.enforcement;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.catalogue.Plan;
import io.capstream.policy.catalogue.PolicyLoader;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class BurstLimiterTest {
    static final Optional<Plan> PLAN = PolicyLoader.fromYaml("""
            plans:
              pro:
                rate_limits: {requests_per_minute_per_key: 2}
            """).plan("pro");

    static CheckRequest check(String customer, String key) {
        return new CheckRequest(customer, null, key, "chat", null, Map.of(), Optional.empty());
    }

    @Test
    void theSameKeyStringUnderTwoCustomersHasTwoBuckets() {
        BurstLimiter limiter = new BurstLimiter();
        // given acme used up its key's two requests
        assertThat(limiter.refusal(check("acme", "key_1"), PLAN)).isEmpty();
        assertThat(limiter.refusal(check("acme", "key_1"), PLAN)).isEmpty();
        assertThat(limiter.refusal(check("acme", "key_1"), PLAN)).isPresent();

        // then globex's first request with the same key string is allowed
        assertThat(limiter.refusal(check("globex", "key_1"), PLAN)).isEmpty();
    }

    @Test
    void theRefusalsWaitIsWhatItsMessageAndRetryAfterSay() {
        BurstLimiter limiter = new BurstLimiter();
        limiter.refusal(check("acme", "k"), PLAN);
        limiter.refusal(check("acme", "k"), PLAN);
        Decision.RateLimit wait = limiter.refusal(check("acme", "k"), PLAN).orElseThrow();

        long seconds = Decision.retryAfterSeconds(wait.reset());
        assertThat(seconds).isBetween(1L, 60L);
        Decision refused = io.capstream.policy.decision.Enforcement.decide(check("acme", "k"),
                io.capstream.policy.customer.Customer.unconfigured("acme", "pro"), PolicyLoader.fromYaml("plans: {pro: {}}"),
                (id, start) -> java.math.BigDecimal.ZERO, Optional.of(wait.reset()), java.time.Instant.now());
        assertThat(refused.message()).contains("retry in " + seconds + " s");
    }

    @Test
    void idleBucketsOfManyDistinctKeysAreDropped() {
        // given 3,000 distinct keys, each used once
        java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
        BurstLimiter limiter = new BurstLimiter(nanos::get);
        for (int i = 0; i < 3000; i++) {
            limiter.refusal(check("acme", "key_" + i), PLAN);
        }
        assertThat(limiter.size()).isEqualTo(3000);

        // when they stay idle past BurstLimiter.IDLE (by then each has refilled completely)
        nanos.addAndGet(BurstLimiter.IDLE.plusSeconds(1).toNanos());

        // then none is kept, and a returning key starts with a full bucket
        assertThat(limiter.size()).isZero();
        assertThat(limiter.refusal(check("acme", "key_1"), PLAN)).isEmpty();
    }
}

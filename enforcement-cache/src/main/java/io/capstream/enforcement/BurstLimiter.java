package io.capstream.enforcement;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.catalogue.Plan;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import java.util.Map;
import java.util.Optional;

/**
 * Burst limits per API key, user and customer from the plan's {@code rate_limits}
 * ({@code requests_per_minute_per_key}, {@code _per_user}, {@code _per_customer}), with Bucket4j token
 * buckets. Separate from spend: a noisy key is slowed down, the rest of the tenant is not.
 *
 * <p>Buckets belong to one customer: a key or user id is only unique within its tenant, so two customers
 * using the same {@code api_key} string never share a bucket. A bucket idle for {@link #IDLE} has refilled
 * completely (every limit is per minute), so it is dropped then and a new full one is made on the next
 * request: memory follows the keys in use, not every key ever seen.
 */
final class BurstLimiter {
    static final Duration IDLE = Duration.ofMinutes(2);
    private final Cache<String, Bucket> buckets;

    BurstLimiter() {
        this(com.github.benmanes.caffeine.cache.Ticker.systemTicker());
    }

    /** @param ticker the clock idle buckets expire by (tests move it by hand) */
    BurstLimiter(com.github.benmanes.caffeine.cache.Ticker ticker) {
        this.buckets = Caffeine.newBuilder().expireAfterAccess(IDLE).maximumSize(1_000_000).ticker(ticker).executor(Runnable::run).build();
    }

    /** The burst limit that refuses this request, with how long to wait, if one does. */
    Optional<io.capstream.policy.decision.Decision.RateLimit> refusal(CheckRequest request, Optional<Plan> plan) {
        if (plan.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Integer> limits = plan.get().rateLimits();
        String customer = request.customer();
        Optional<io.capstream.policy.decision.Decision.RateLimit> wait = take(customer, "key", request.apiKey(), limits.get("requests_per_minute_per_key"));
        if (wait.isEmpty()) {
            wait = take(customer, "user", request.user(), limits.get("requests_per_minute_per_user"));
        }
        if (wait.isEmpty()) {
            wait = take(customer, "customer", customer, limits.get("requests_per_minute_per_customer"));
        }
        return wait;
    }

    /** Buckets held now (after pending evictions); for tests and metrics. */
    long size() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }

    private Optional<io.capstream.policy.decision.Decision.RateLimit> take(String customer, String scope, String id, Integer perMinute) {
        if (id == null || perMinute == null) {
            return Optional.empty();
        }
        // length-prefixed so that no customer id and key id can combine into another pair's key
        String key = customer.length() + ":" + customer + "|" + scope + "|" + perMinute + "|" + id;
        Bucket bucket = buckets.get(key, k -> Bucket.builder()
                .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
                .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        return probe.isConsumed() ? Optional.empty() : Optional.of(new io.capstream.policy.decision.Decision.RateLimit("per-" + scope, perMinute,
                Duration.ofMinutes(1), Duration.ofNanos(probe.getNanosToWaitForRefill())));
    }
}

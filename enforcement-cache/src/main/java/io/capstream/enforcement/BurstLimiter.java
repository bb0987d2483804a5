package io.capstream.enforcement;

import io.capstream.policy.CheckRequest;
import io.capstream.policy.Plan;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * Burst limits per API key, user and customer from the plan's {@code rate_limits}
 * ({@code requests_per_minute_per_key}, {@code _per_user}, {@code _per_customer}), with Bucket4j token
 * buckets. Separate from spend: a noisy key is slowed down, the rest of the tenant is not.
 */
final class BurstLimiter {
    private final Map<String, Bucket> buckets = new ConcurrentHashMap<>();

    /** The burst limit that refuses this request, with how long to wait, if one does. */
    Optional<io.capstream.policy.Decision.RateLimit> refusal(CheckRequest request, Optional<Plan> plan) {
        if (plan.isEmpty()) {
            return Optional.empty();
        }
        Map<String, Integer> limits = plan.get().rateLimits();
        Optional<io.capstream.policy.Decision.RateLimit> wait = take("key", request.apiKey(), limits.get("requests_per_minute_per_key"));
        if (wait.isEmpty()) {
            wait = take("user", request.user(), limits.get("requests_per_minute_per_user"));
        }
        if (wait.isEmpty()) {
            wait = take("customer", request.customer(), limits.get("requests_per_minute_per_customer"));
        }
        return wait;
    }

    private Optional<io.capstream.policy.Decision.RateLimit> take(String scope, String id, Integer perMinute) {
        if (id == null || perMinute == null) {
            return Optional.empty();
        }
        Bucket bucket = buckets.computeIfAbsent(scope + ':' + id + ':' + perMinute, k -> Bucket.builder()
                .addLimit(limit -> limit.capacity(perMinute).refillGreedy(perMinute, Duration.ofMinutes(1)))
                .build());
        ConsumptionProbe probe = bucket.tryConsumeAndReturnRemaining(1);
        return probe.isConsumed() ? Optional.empty() : Optional.of(new io.capstream.policy.Decision.RateLimit("per-" + scope, perMinute,
                Duration.ofMinutes(1), Duration.ofNanos(probe.getNanosToWaitForRefill())));
    }
}

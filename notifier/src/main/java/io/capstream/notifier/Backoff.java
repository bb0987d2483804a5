package io.capstream.notifier;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.random.RandomGenerator;

/**
 * Exponential backoff with jitter, up to a horizon. The delay before retry {@code n} (1-based) is
 * drawn from {@code [b/2, b]} with {@code b = min(max, initial × 2^(n-1))} ("equal jitter"), so
 * delays never shrink and retries of many failing notifications spread out. A {@code Retry-After}
 * from the receiver is honoured when it asks for longer.
 */
public record Backoff(Duration initial, Duration max, Duration horizon) {
    /** The delay before retry {@code attempt} (the first retry is attempt 1). */
    public Duration delay(int attempt, Optional<Duration> retryAfter, RandomGenerator random) {
        long base = initial.toMillis();
        for (int i = 1; i < attempt && base < max.toMillis(); i++) {
            base *= 2;
        }
        base = Math.min(base, max.toMillis());
        long jittered = base / 2 + (base / 2 == 0 ? 0 : random.nextLong(base - base / 2 + 1));
        Duration delay = Duration.ofMillis(jittered);
        return retryAfter.filter(r -> r.compareTo(delay) > 0).orElse(delay);
    }

    /** A receiver's requested wait, at most the horizon (beyond it the notification is dead-lettered anyway). */
    public Duration capped(Duration requested) {
        return requested.isNegative() ? Duration.ZERO : requested.compareTo(horizon) > 0 ? horizon : requested;
    }

    /** Whether a retry at {@code next} is still within the horizon of a delivery first tried at {@code first}. */
    public boolean allows(Instant first, Instant next) {
        return !next.isAfter(first.plus(horizon));
    }
}

package io.capstream.enforcement;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.capstream.policy.runaway.Breaker;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * What an open {@code throttle} runaway breaker lets through on this instance: in each minute, requests
 * whose estimated cost adds up to the scope's baseline rate; beyond it they wait for the next minute.
 * Per instance (like the burst limits): N sidecars let a scope through at up to N times its baseline.
 */
final class RunawayThrottle {
    /** A scope's minute and what this instance let it spend in it. */
    private static final class Minute {
        long minute;
        BigDecimal spent = BigDecimal.ZERO;
    }

    /** Only scopes with an open throttle breaker have an entry. */
    private final Cache<String, Minute> minutes = Caffeine.newBuilder().maximumSize(100_000).expireAfterAccess(Duration.ofHours(1)).build();

    /** Empty if the request may go (and its cost is counted), otherwise how long until the next minute. */
    Optional<Duration> admit(Breaker breaker, BigDecimal cost, Instant now) {
        long minute = Math.floorDiv(now.getEpochSecond(), 60);
        Minute m = minutes.get(breaker.customer() + '|' + breaker.apiKey().orElse(""), k -> new Minute());
        synchronized (m) {
            if (m.minute != minute) {
                m.minute = minute;
                m.spent = BigDecimal.ZERO;
            }
            BigDecimal after = m.spent.add(cost);
            if (m.spent.signum() > 0 && after.compareTo(breaker.baseline()) > 0) {
                return Optional.of(Duration.ofSeconds((minute + 1) * 60).minus(Duration.ofSeconds(now.getEpochSecond(), now.getNano())));
            }
            m.spent = after;
            return Optional.empty();
        }
    }
}

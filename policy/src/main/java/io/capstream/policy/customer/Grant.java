package io.capstream.policy.customer;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.Optional;

/**
 * Credit in USD: promotional or paid (a prepaid balance is a paid grant). Lower {@code priority}
 * burns first. A grant covers usage only from {@code effectiveAt} (inclusive) to {@code expiresAt}
 * (exclusive), and only of {@code feature} when one is given.
 */
public record Grant(String id, BigDecimal amount, String category, int priority, Instant effectiveAt,
                    Optional<Instant> expiresAt, Optional<String> feature) {
    public boolean activeAt(Instant t) {
        return !t.isBefore(effectiveAt) && expiresAt.map(t::isBefore).orElse(true);
    }

    public boolean appliesTo(String eventFeature) {
        return feature.map(f -> f.equals(eventFeature)).orElse(true);
    }
}

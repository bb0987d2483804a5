package io.capstream.policy;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A plan: its price per billing period, the model tiers it allows, burst limits, one entitlement per
 * feature (a row of the quota matrix), and the caps new customers get by default.
 *
 * @param rateLimits burst limits, e.g. {@code requests_per_minute_per_key: 60}
 */
public record Plan(String name, BigDecimal price, Set<String> modelTiers, Map<String, Integer> rateLimits,
                   Map<String, Entitlement> entitlements, List<Cap> defaultCaps, boolean failOpen) {
    public Plan {
        modelTiers = Set.copyOf(modelTiers);
        rateLimits = Map.copyOf(rateLimits);
        entitlements = Map.copyOf(entitlements);
        defaultCaps = List.copyOf(defaultCaps);
    }

    public Optional<Entitlement> entitlement(String feature) {
        return Optional.ofNullable(entitlements.get(feature));
    }
}

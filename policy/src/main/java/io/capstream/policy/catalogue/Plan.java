package io.capstream.policy.catalogue;

import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.Entitlement;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.runaway.RunawayRule;

import java.math.BigDecimal;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * A plan: its price per billing period, the model tiers it allows, burst limits, one entitlement per
 * feature (a row of the quota matrix), and the caps new customers get by default.
 *
 * @param rateLimits  burst limits, e.g. {@code requests_per_minute_per_key: 60}
 * @param otherLimits limits of kinds the policy document has no syntax for yet (built in code)
 * @param runaway     the runaway circuit breaker of the plan's customers, if it has one
 */
public record Plan(String name, BigDecimal price, Set<String> modelTiers, Map<String, Integer> rateLimits,
                   Map<String, Entitlement> entitlements, List<Cap> defaultCaps, boolean failOpen, List<Limit.Custom> otherLimits,
                   Optional<RunawayRule> runaway) {
    public Plan {
        modelTiers = Set.copyOf(modelTiers);
        rateLimits = Map.copyOf(rateLimits);
        entitlements = Map.copyOf(entitlements);
        defaultCaps = List.copyOf(defaultCaps);
        otherLimits = List.copyOf(otherLimits);
    }

    public Plan(String name, BigDecimal price, Set<String> modelTiers, Map<String, Integer> rateLimits,
                Map<String, Entitlement> entitlements, List<Cap> defaultCaps, boolean failOpen) {
        this(name, price, modelTiers, rateLimits, entitlements, defaultCaps, failOpen, List.of());
    }

    public Plan(String name, BigDecimal price, Set<String> modelTiers, Map<String, Integer> rateLimits,
                Map<String, Entitlement> entitlements, List<Cap> defaultCaps, boolean failOpen, List<Limit.Custom> otherLimits) {
        this(name, price, modelTiers, rateLimits, entitlements, defaultCaps, failOpen, otherLimits, Optional.empty());
    }

    public Optional<Entitlement> entitlement(String feature) {
        return Optional.ofNullable(entitlements.get(feature));
    }

    /** The plan's own limits: its entitlements by feature, then limits of other kinds ({@code otherLimits}). */
    public List<Limit> limits() {
        List<Limit> limits = new java.util.ArrayList<>(entitlements.values().stream().sorted(java.util.Comparator.comparing(Entitlement::feature)).toList());
        limits.addAll(otherLimits);
        return limits;
    }
}

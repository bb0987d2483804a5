package io.capstream.policy.runaway;

import io.capstream.policy.limit.LimitAction;
import java.math.BigDecimal;
import java.time.Duration;
import java.util.Optional;

/**
 * A runaway breaker as written: a plan's {@code runaway} block, or a customer's
 * {@code overrides.runaway}, where each field present replaces the plan's (or the default) and
 * {@code enabled: false} turns the breaker off for that customer.
 */
public record RunawaySettings(boolean enabled, Optional<BigDecimal> factor, Optional<BigDecimal> floor, Optional<BigDecimal> absolute,
                              Optional<Integer> sustainMinutes, Optional<LimitAction> action, Optional<Integer> coolDownMinutes) {
    /** The rule these settings make on top of {@code base} (the plan's; without one, the defaults); none when disabled. */
    public Optional<RunawayRule> over(Optional<RunawayRule> base) {
        if (!enabled) {
            return Optional.empty();
        }
        RunawayRule b = base.orElse(RunawayRule.DEFAULT);
        return Optional.of(new RunawayRule(factor.orElse(b.factor()), floor.orElse(b.floor()), absolute.isPresent() ? absolute : b.absolute(),
                sustainMinutes.map(m -> Duration.ofMinutes(m)).orElse(b.sustain()), action.orElse(b.action()),
                coolDownMinutes.map(m -> Duration.ofMinutes(m)).orElse(b.coolDown())));
    }
}

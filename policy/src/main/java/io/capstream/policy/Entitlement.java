package io.capstream.policy;

import java.math.BigDecimal;
import java.util.List;

/**
 * One cell of the quota matrix: what a plan includes of a feature per period, and what happens beyond.
 *
 * @param included the amount included per period, in the measure (USD or meter units)
 * @param warnAt   fractions of {@code included} at which warnings are emitted (0.8, 0.9, 1.0)
 */
public record Entitlement(String feature, Measure measure, BigDecimal included, ResetSchedule period, Over over,
                          List<BigDecimal> warnAt) {
    public Entitlement {
        warnAt = List.copyOf(warnAt);
    }

    public Entitlement withIncluded(BigDecimal amount) {
        return new Entitlement(feature, measure, amount, period, over, warnAt);
    }

    public String limitId() {
        return "entitlement:" + feature;
    }
}

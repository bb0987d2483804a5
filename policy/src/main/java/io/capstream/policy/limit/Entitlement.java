package io.capstream.policy.limit;

import io.capstream.policy.booking.Accounting;
import io.capstream.policy.decision.Decision;

import java.math.BigDecimal;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * One cell of the quota matrix: what a plan includes of a feature per period, and what happens beyond.
 *
 * @param included the amount included per period, in the measure (USD or meter units)
 * @param warnAt   fractions of {@code included} at which warnings are emitted (0.8, 0.9, 1.0)
 */
public record Entitlement(String feature, Measure measure, BigDecimal included, ResetSchedule period, LimitAction over,
                          List<BigDecimal> warnAt) implements Limit {
    public Entitlement {
        warnAt = List.copyOf(warnAt);
    }

    public Entitlement withIncluded(BigDecimal amount) {
        return new Entitlement(feature, measure, amount, period, over, warnAt);
    }

    @Override
    public String limitId() {
        return LimitIds.entitlement(feature);
    }

    @Override
    public String kind() {
        return "entitlement";
    }

    @Override
    public String displayLabel() {
        return feature;
    }

    @Override
    public BigDecimal amount() {
        return included;
    }

    @Override
    public List<BigDecimal> thresholds() {
        return warnAt;
    }

    @Override
    public LimitAction action() {
        return over;
    }

    @Override
    public Optional<ZoneId> timezone() {
        return Optional.empty(); // always the customer's
    }

    @Override
    public boolean matches(String eventFeature, String model, String user, String apiKey) {
        return feature.equals(eventFeature);
    }

    /** Its cost for a USD entitlement, otherwise the event's quantity of the entitlement's meter. */
    @Override
    public BigDecimal counted(Accounting.Split split, Map<String, BigDecimal> usage) {
        return estimated(split.cost(), usage);
    }

    @Override
    public Decision.Code refusalCode() {
        return Decision.Code.PLAN_ALLOWANCE_EXHAUSTED;
    }

    @Override
    public WayOut wayOut() {
        return WayOut.UPGRADE;
    }

    @Override
    public boolean includes() {
        return true;
    }
}

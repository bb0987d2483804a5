package io.capstream.policy.limit;

import io.capstream.policy.booking.Accounting;
import io.capstream.policy.decision.Decision;

import java.math.BigDecimal;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;

/**
 * A spend limit set by a customer (or, as a default, by the plan), with its own reset schedule and
 * timezone. What it counts per event is {@link Accounting#counted}: all spend, spend beyond the
 * plan ({@code overageOnly}), and with or without what grants paid ({@code ignoreGrants}).
 *
 * @param timezone the cap's own timezone; empty means the customer's
 * @param failOpen what to do when usage state is unavailable; empty means the plan's default
 */
public record Cap(String id, String label, BigDecimal amount, Measure measure, CapFilter filter, ResetSchedule period,
                  Optional<ZoneId> timezone, boolean overageOnly, boolean ignoreGrants, List<BigDecimal> thresholds,
                  LimitAction action, boolean strict, Optional<Boolean> failOpen) implements Limit {
    public static final List<BigDecimal> DEFAULT_THRESHOLDS =
            List.of(new BigDecimal("0.8"), new BigDecimal("0.9"), BigDecimal.ONE);

    public Cap {
        thresholds = List.copyOf(thresholds);
    }

    @Override
    public String limitId() {
        return LimitIds.cap(id);
    }

    @Override
    public String kind() {
        return "cap";
    }

    @Override
    public String displayLabel() {
        return label == null || label.isBlank() ? id : label;
    }

    @Override
    public String feature() {
        return filter.feature();
    }

    @Override
    public boolean matches(String eventFeature, String model, String user, String apiKey) {
        return filter.matches(eventFeature, model, user, apiKey);
    }

    /** {@link Accounting#counted}: spend, overage, with or without grants, or units of its meter. */
    @Override
    public BigDecimal counted(Accounting.Split split, java.util.Map<String, BigDecimal> usage) {
        return Accounting.counted(this, split, usage);
    }

    @Override
    public Decision.Code refusalCode() {
        return Decision.Code.SPEND_CAP_REACHED;
    }

    @Override
    public WayOut wayOut() {
        return WayOut.RAISE_CAP;
    }

    public Cap withAmount(BigDecimal newAmount) {
        return new Cap(id, label, newAmount, measure, filter, period, timezone, overageOnly, ignoreGrants, thresholds, action, strict, failOpen);
    }
}

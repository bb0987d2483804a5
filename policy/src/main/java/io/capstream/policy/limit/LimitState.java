package io.capstream.policy.limit;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.List;

/** How a limit stands: {@code ok}, {@code warning} (a threshold below 100 % reached) or {@code exceeded} (at or past 100 %). */
public enum LimitState {
    OK, WARNING, EXCEEDED;

    public static LimitState of(BigDecimal used, BigDecimal limit, List<BigDecimal> thresholds) {
        if (Thresholds.reached(used, limit, BigDecimal.ONE)) {
            return EXCEEDED;
        }
        boolean warned = thresholds.stream().anyMatch(t -> t.compareTo(BigDecimal.ONE) < 0 && Thresholds.reached(used, limit, t));
        return warned ? WARNING : OK;
    }

    /** Used as a percentage of the limit, one decimal, rounded down (so 99.99 % never shows as 100 %). */
    public static BigDecimal percent(BigDecimal used, BigDecimal limit) {
        if (limit.signum() == 0) {
            return used.signum() > 0 ? new BigDecimal("100.0") : BigDecimal.ZERO.setScale(1);
        }
        return used.multiply(BigDecimal.valueOf(100)).divide(limit, 1, RoundingMode.DOWN);
    }

    /** What is left before the limit, never negative. */
    public static BigDecimal remaining(BigDecimal used, BigDecimal limit) {
        return limit.subtract(used).max(BigDecimal.ZERO);
    }
}

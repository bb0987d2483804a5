package io.capstream.policy.booking;

import io.capstream.policy.limit.Period;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;

/**
 * The projected bill of a billing period: the plan price plus the billed overage so far extrapolated
 * linearly to the end of the period. A projection, not a charge: rounded to the cent.
 */
public final class Projection {
    private Projection() {}

    public static BigDecimal projectedBill(BigDecimal planPrice, BigDecimal billedSoFar, Period period, Instant now) {
        long total = Duration.between(period.start(), period.end()).toSeconds();
        long elapsed = Math.max(1, Math.min(total, Duration.between(period.start(), now).toSeconds()));
        BigDecimal projectedOverage = billedSoFar.multiply(BigDecimal.valueOf(total)).divide(BigDecimal.valueOf(elapsed), 2, RoundingMode.HALF_UP);
        return planPrice.add(projectedOverage).setScale(2, RoundingMode.HALF_UP);
    }
}

package io.capstream.policy.input;

import java.math.BigDecimal;
import java.math.RoundingMode;

/**
 * Exact non-negative decimals as {@code long}s counting units of 10^-12 ({@link #SCALE} digits after the
 * point, up to about 9.2 million), for the hot path of a check: comparisons and sums of longs allocate
 * nothing. A value that does not fit — more digits after the point, too large, negative — is {@link #NONE},
 * and the caller decides with {@link BigDecimal} instead; so every answer is the exact one, only the way
 * to it differs. Converting ({@link #of}) allocates: do it once per value (a limit, a price, a running
 * total when it arrives), not once per check.
 */
public final class FixedPoint {
    private FixedPoint() {}

    public static final int SCALE = 12;
    /** Not representable: decide with {@link BigDecimal}. */
    public static final long NONE = Long.MIN_VALUE;

    /** {@code value} × 10^12, exactly, or {@link #NONE}. */
    public static long of(BigDecimal value) {
        if (value.signum() < 0) {
            return NONE;
        }
        if (value.signum() == 0) {
            return 0;
        }
        try {
            java.math.BigInteger units = value.setScale(SCALE, RoundingMode.UNNECESSARY).unscaledValue();
            return units.bitLength() < 64 ? units.longValue() : NONE;
        } catch (ArithmeticException e) {
            return NONE;
        }
    }

    /** {@code a + b}, or {@link #NONE} when either is or the sum does not fit. */
    public static long plus(long a, long b) {
        if (a == NONE || b == NONE) {
            return NONE;
        }
        long sum = a + b; // both non-negative: an overflow shows as a negative sum
        return sum < 0 ? NONE : sum;
    }

    /** {@code fixed × n} for a whole number {@code n ≥ 0}, or {@link #NONE} when it does not fit. */
    public static long times(long fixed, long n) {
        if (fixed == NONE || n < 0) {
            return NONE;
        }
        long product = fixed * n;
        return Math.multiplyHigh(fixed, n) != 0 || product < 0 ? NONE : product;
    }

    /**
     * A whole number of units read without allocating (a quantity written without a fraction, as token
     * counts are), or -1 when {@code quantity} has digits after the point, is negative or too large.
     */
    public static long whole(BigDecimal quantity) {
        if (quantity.signum() < 0 || quantity.scale() != 0 || quantity.precision() > 18) {
            return -1;
        }
        return quantity.longValue();
    }
}

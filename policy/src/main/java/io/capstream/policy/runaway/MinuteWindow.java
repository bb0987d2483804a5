package io.capstream.policy.runaway;

import java.math.BigDecimal;

/**
 * One scope's spend per minute over the last few minutes (a ring of {@code size} minutes, by epoch
 * minute): what a {@link RunawayRule} checks. Events may come a little out of order; spend for a minute
 * older than the ring is ignored.
 */
public final class MinuteWindow {
    private final long[] minutes;
    private final BigDecimal[] spend;

    public MinuteWindow(int size) {
        minutes = new long[size];
        spend = new BigDecimal[size];
        java.util.Arrays.fill(minutes, Long.MIN_VALUE);
    }

    /** Adds spend at an epoch minute. */
    public void add(long minute, BigDecimal cost) {
        int i = (int) Math.floorMod(minute, (long) minutes.length);
        if (minutes[i] == minute) {
            spend[i] = spend[i].add(cost);
        } else if (minutes[i] < minute) {
            minutes[i] = minute;
            spend[i] = cost;
        }
    }

    /** The spend in an epoch minute, zero if none was seen (or it is older than the ring). */
    public BigDecimal at(long minute) {
        int i = (int) Math.floorMod(minute, (long) minutes.length);
        return minutes[i] == minute ? spend[i] : BigDecimal.ZERO;
    }

    /** Whether spend was above {@code rate} in each of the {@code count} minutes that end with {@code current}. */
    public boolean above(long current, int count, BigDecimal rate) {
        for (long m = current - count + 1; m <= current; m++) {
            if (at(m).compareTo(rate) <= 0) {
                return false;
            }
        }
        return true;
    }

    /** The mean spend per minute over the {@code count} minutes that end with {@code current}. */
    public BigDecimal mean(long current, int count) {
        BigDecimal sum = BigDecimal.ZERO;
        for (long m = current - count + 1; m <= current; m++) {
            sum = sum.add(at(m));
        }
        return sum.divide(BigDecimal.valueOf(count), 6, java.math.RoundingMode.HALF_EVEN);
    }

    /** Forgets every minute (after a manual reset, the rate is measured afresh). */
    public void clear() {
        java.util.Arrays.fill(minutes, Long.MIN_VALUE);
        java.util.Arrays.fill(spend, null);
    }
}

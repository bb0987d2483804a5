package io.capstream.policy.limit;

import java.math.BigDecimal;
import java.util.Collection;
import java.util.List;

/**
 * Threshold crossings (DESIGN 4.4). A threshold {@code t} of a limit {@code L} is reached when the
 * counted amount is at or above {@code t × L}. Each is emitted once per period: the caller keeps the
 * set already crossed; raising the limit re-arms the thresholds no longer reached.
 */
public final class Thresholds {
    private Thresholds() {}

    public static boolean reached(BigDecimal used, BigDecimal limit, BigDecimal threshold) {
        if (limit.signum() == 0) {
            return used.signum() > 0;
        }
        return used.compareTo(limit.multiply(threshold)) >= 0;
    }

    /** Thresholds reached at {@code used} that are not in {@code alreadyCrossed}, lowest first; one event may cross several. */
    public static List<BigDecimal> newlyCrossed(BigDecimal used, BigDecimal limit, List<BigDecimal> thresholds,
                                                Collection<BigDecimal> alreadyCrossed) {
        return thresholds.stream()
                .filter(t -> reached(used, limit, t))
                .filter(t -> alreadyCrossed.stream().noneMatch(c -> c.compareTo(t) == 0))
                .sorted()
                .toList();
    }

    /** The crossed thresholds still reached at {@code used} under a (possibly raised) {@code limit}; the others re-arm. */
    public static List<BigDecimal> stillCrossed(BigDecimal used, BigDecimal limit, Collection<BigDecimal> crossed) {
        return crossed.stream().filter(t -> reached(used, limit, t)).sorted().toList();
    }
}

package io.capstream.policy.limit;

import java.math.BigDecimal;
import java.util.ArrayList;
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
        List<BigDecimal> newly = null; // booked for every event: no allocation when nothing is crossed
        for (BigDecimal t : thresholds) {
            if (reached(used, limit, t) && !contains(alreadyCrossed, t)) {
                if (newly == null) {
                    newly = new ArrayList<>(thresholds.size());
                }
                newly.add(t);
            }
        }
        if (newly == null) {
            return List.of();
        }
        newly.sort(null);
        return List.copyOf(newly);
    }

    private static boolean contains(Collection<BigDecimal> thresholds, BigDecimal t) {
        for (BigDecimal c : thresholds) {
            if (c.compareTo(t) == 0) {
                return true;
            }
        }
        return false;
    }

    /** The crossed thresholds still reached at {@code used} under a (possibly raised) {@code limit}; the others re-arm. */
    public static List<BigDecimal> stillCrossed(BigDecimal used, BigDecimal limit, Collection<BigDecimal> crossed) {
        List<BigDecimal> still = new ArrayList<>(crossed.size());
        boolean unchanged = true; // the common case, booked for every event: the same (immutable, sorted) list back
        BigDecimal previous = null;
        for (BigDecimal t : crossed) {
            if (reached(used, limit, t)) {
                still.add(t);
                unchanged &= previous == null || previous.compareTo(t) <= 0;
                previous = t;
            } else {
                unchanged = false;
            }
        }
        if (unchanged) {
            return List.copyOf(crossed);
        }
        still.sort(null);
        return List.copyOf(still);
    }
}

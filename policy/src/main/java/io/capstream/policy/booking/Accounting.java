package io.capstream.policy.booking;

import io.capstream.policy.customer.Grant;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.Limit;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * The accounting split of one event (DESIGN 4.2), exact:
 * <ol>
 *   <li>cost {@code c} (from {@link Pricing});</li>
 *   <li>included part {@code i}: what is still inside the feature's entitlement this period;</li>
 *   <li>overage {@code o = c − i};</li>
 *   <li>grant-covered part {@code g = min(o, balance of active applicable grants)}, burned by
 *       priority, then soonest expiry, then id;</li>
 *   <li>billed part {@code b = o − g};</li>
 *   <li>each matching cap counts {@code (overage_only ? o : c) − (ignore_grants ? g : 0)}.</li>
 * </ol>
 * Always {@code i + g + b = c}, and no part is negative.
 */
public final class Accounting {
    private Accounting() {}

    /** A grant and what is left of it before this event. */
    public record GrantBalance(Grant grant, BigDecimal remaining) {}

    /** The split of one event's cost, and how much each grant paid. */
    public record Split(BigDecimal cost, BigDecimal included, BigDecimal grantCovered, BigDecimal billed,
                        Map<String, BigDecimal> grantBurns) {
        public Split {
            grantBurns = java.util.Collections.unmodifiableMap(new LinkedHashMap<>(grantBurns)); // keeps the burn order
        }

        public BigDecimal overage() {
            return cost.subtract(included);
        }
    }

    /**
     * The included part of an event.
     *
     * @param allowance  the limit whose usage the plan includes (the event's feature's entitlement), if any
     * @param usedBefore what the allowance had counted this period before the event
     * @param use        what the allowance counts of this event ({@link Limit#estimated}: cost or units)
     */
    public static BigDecimal includedPart(Optional<? extends Limit> allowance, BigDecimal cost, BigDecimal use, BigDecimal usedBefore) {
        if (allowance.isEmpty() || cost.signum() == 0) {
            return BigDecimal.ZERO;
        }
        BigDecimal remaining = allowance.get().amount().subtract(usedBefore).max(BigDecimal.ZERO);
        if (remaining.compareTo(use) >= 0) {
            return cost; // the whole event is inside
        }
        if (remaining.signum() == 0 || use.signum() == 0) {
            return BigDecimal.ZERO;
        }
        if (allowance.get().measure().isMoney()) {
            return remaining;
        }
        // A quantity entitlement that runs out in the middle of the event: the share of the cost of
        // the units still inside, rounded down at the wire's money scale (so i + o = c stays exact).
        return cost.multiply(remaining).divide(use, Decimals.MONEY_SCALE, RoundingMode.DOWN);
    }

    /**
     * Splits an event's cost given its included part and the customer's grants.
     *
     * @param balances every grant of the customer with what is left of it; inactive or inapplicable
     *                 grants are skipped here
     */
    public static Split split(BigDecimal cost, BigDecimal included, List<GrantBalance> balances, Instant time, String feature) {
        BigDecimal overage = cost.subtract(included);
        List<GrantBalance> usable = new ArrayList<>();
        for (GrantBalance b : balances) {
            if (b.remaining().signum() > 0 && b.grant().activeAt(time) && b.grant().appliesTo(feature)) {
                usable.add(b);
            }
        }
        usable.sort(BURN_ORDER);
        Map<String, BigDecimal> burns = new LinkedHashMap<>();
        BigDecimal left = overage;
        for (GrantBalance b : usable) {
            if (left.signum() <= 0) {
                break;
            }
            BigDecimal burn = left.min(b.remaining());
            burns.put(b.grant().id(), burn);
            left = left.subtract(burn);
        }
        BigDecimal covered = overage.subtract(left);
        return new Split(cost, included, covered, left, burns);
    }

    /**
     * The split of taking {@code cost} back from a feature's period whose totals are {@code included}, {@code grantCovered}
     * and {@code billed}: the reverse of the order {@link #split} fills them, billed first, then the grants (the last in
     * {@link #BURN_ORDER} first, each at most what it has paid), then included. Every part of the result is zero or
     * negative and they sum to {@code -cost}. For an entitlement in money this is exactly what the split of the
     * remaining usage would have been without the event.
     *
     * @param burned the grants that apply to the feature, each with what it has paid so far ({@code remaining} = used)
     * @throws ArithmeticException when the totals hold less than {@code cost} (nothing that large was booked)
     */
    public static Split unsplit(BigDecimal cost, BigDecimal included, BigDecimal grantCovered, BigDecimal billed, List<GrantBalance> burned) {
        if (cost.compareTo(included.add(grantCovered).add(billed)) > 0) {
            throw new ArithmeticException("the period's totals hold less than the " + cost.toPlainString() + " to take back");
        }
        BigDecimal fromBilled = cost.min(billed.max(BigDecimal.ZERO));
        BigDecimal left = cost.subtract(fromBilled);
        List<GrantBalance> lastFirst = new ArrayList<>(burned);
        lastFirst.sort(BURN_ORDER.reversed());
        Map<String, BigDecimal> burns = new LinkedHashMap<>();
        BigDecimal fromGrants = BigDecimal.ZERO;
        BigDecimal grantLeft = left.min(grantCovered.max(BigDecimal.ZERO));
        for (GrantBalance b : lastFirst) {
            if (grantLeft.signum() <= 0) {
                break;
            }
            BigDecimal back = grantLeft.min(b.remaining());
            if (back.signum() > 0) {
                burns.put(b.grant().id(), back.negate());
                grantLeft = grantLeft.subtract(back);
                fromGrants = fromGrants.add(back);
            }
        }
        BigDecimal fromIncluded = left.subtract(fromGrants);
        return new Split(cost.negate(), fromIncluded.negate(), fromGrants.negate(), fromBilled.negate(), burns);
    }

    /** Priority (lower first), then the soonest expiry (never-expiring last), then id. */
    public static final Comparator<GrantBalance> BURN_ORDER = Comparator
            .comparingInt((GrantBalance b) -> b.grant().priority())
            .thenComparing(b -> b.grant().expiresAt().orElse(Instant.MAX))
            .thenComparing(b -> b.grant().id());

    /**
     * What a cap counts of an event that matches its filter: for a USD cap
     * {@code (overage_only ? o : c) − (ignore_grants ? g : 0)}; for a meter cap, the event's units of
     * that meter.
     */
    public static BigDecimal counted(Cap cap, Split split, Map<String, BigDecimal> usage) {
        if (!cap.measure().isMoney()) {
            return usage.getOrDefault(cap.measure().name(), BigDecimal.ZERO);
        }
        BigDecimal base = cap.overageOnly() ? split.overage() : split.cost();
        return cap.ignoreGrants() ? base.subtract(split.grantCovered()) : base;
    }
}

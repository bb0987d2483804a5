package io.capstream.aggregator.topology;

import io.capstream.policy.booking.Booking;
import io.capstream.policy.decision.Account;
import io.capstream.policy.limit.Period;
import java.time.Instant;
import java.util.Map;

/**
 * Which feature's total counts usage of a feature in a customer's billing period ({@link Booking#totalFeature}), with the
 * count of the period's feature totals read from this task's limits store ({@link TotalsStore#featureTotals}), asked only for
 * a feature that has no total yet and is named by no limit or grant, and not again once the period keeps
 * {@link Booking#MAX_FEATURE_TOTALS} (a period's feature totals only grow while it is open). What it remembers comes from
 * the store's uncommitted changes too, so it lives only as long as the processor that made it: a task started again (after
 * a crash, a rebalance or an aborted transaction) makes a new one.
 */
final class FullPeriods {
    private final TotalsStore limits;
    /** customer|billing period start of the periods known to be full. */
    private final Map<String, Boolean> full = Lru.of(50_000);

    FullPeriods(TotalsStore limits) {
        this.limits = limits;
    }

    /** {@link Booking#totalFeature} for the customer's billing period {@code billing}, as {@code totals} are now. */
    String totalFeature(Account account, String feature, Period billing, Booking.Totals totals, boolean mayOpen) {
        return Booking.totalFeature(feature, account.customer(), account.limits(), billing.start(), totals,
                () -> kept(account.customer().id(), billing.start()), mayOpen);
    }

    /** Whether the customer's billing period keeps fewer than {@link Booking#MAX_FEATURE_TOTALS} feature totals. */
    boolean hasRoom(String customer, Instant billingStart) {
        return kept(customer, billingStart) < Booking.MAX_FEATURE_TOTALS;
    }

    /** How many features the customer's billing period keeps a total of ({@link Booking#OTHER_FEATURE} not counted). */
    private int kept(String customer, Instant billingStart) {
        String key = customer + '|' + billingStart;
        if (full.containsKey(key)) {
            return Booking.MAX_FEATURE_TOTALS;
        }
        int kept = limits.featureTotals(customer, billingStart);
        if (kept >= Booking.MAX_FEATURE_TOTALS) {
            full.put(key, Boolean.TRUE);
        }
        return kept;
    }
}

package io.capstream.schemas.topics;

import java.time.Instant;

/**
 * Keys of running totals, in the limits store and on {@code usage-aggregates}:
 * {@code customer|limit_id|period_start}. The customer comes first, so all of a customer's totals are
 * found with one prefix scan in the partition that owns the customer. Limit ids carry their kind as a
 * prefix ({@link io.capstream.policy.limit.LimitIds}). The aggregator, the enforcer and the reservation API
 * build keys here and nowhere else.
 */
public final class UsageKey {
    private UsageKey() {}

    public static String of(String customer, String limitId, Instant periodStart) {
        return customer + '|' + limitId + '|' + text(periodStart);
    }

    /**
     * Period starts are few and repeat for every event: their ISO text (what {@link Instant#toString}
     * gives, the costly part of a key) is kept, up to a bound.
     */
    private static final java.util.concurrent.ConcurrentHashMap<Instant, String> PERIOD_TEXT = new java.util.concurrent.ConcurrentHashMap<>();
    private static final int MAX_PERIOD_TEXTS = 4096;

    private static String text(Instant periodStart) {
        String text = PERIOD_TEXT.get(periodStart);
        if (text == null) {
            if (PERIOD_TEXT.size() >= MAX_PERIOD_TEXTS) {
                PERIOD_TEXT.clear();
            }
            text = periodStart.toString();
            PERIOD_TEXT.put(periodStart, text);
        }
        return text;
    }

    public static String customerPrefix(String customer) {
        return customer + '|';
    }
}

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
        return customer + '|' + limitId + '|' + periodStart;
    }

    public static String customerPrefix(String customer) {
        return customer + '|';
    }
}

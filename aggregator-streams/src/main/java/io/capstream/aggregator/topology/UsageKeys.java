package io.capstream.aggregator.topology;

import java.time.Instant;

/**
 * Keys of running totals: {@code customer|limit_id|period_start}. The customer comes first, so all
 * of a customer's totals are found with one prefix scan in the partition that owns the customer.
 */
public final class UsageKeys {
    private UsageKeys() {}

    public static String featureLimit(String feature) {
        return "feature:" + feature;
    }

    public static String key(String customer, String limitId, Instant periodStart) {
        return customer + '|' + limitId + '|' + periodStart;
    }

    public static String customerPrefix(String customer) {
        return customer + '|';
    }
}

package io.capstream.policy.limit;

/**
 * Limit ids, and the ids of the other running totals kept beside them, each with its kind as prefix:
 * the one place the prefixes are written.
 */
public final class LimitIds {
    public static final String ENTITLEMENT = "entitlement:";
    public static final String CAP = "cap:";
    /** A feature's totals in a billing period (the accounting split, for finance). */
    public static final String FEATURE = "feature:";
    /** What a grant has paid so far. */
    public static final String GRANT = "grant:";

    private LimitIds() {}

    public static String entitlement(String feature) {
        return ENTITLEMENT + feature;
    }

    public static String cap(String capId) {
        return CAP + capId;
    }

    public static String feature(String feature) {
        return FEATURE + feature;
    }

    public static String grant(String grantId) {
        return GRANT + grantId;
    }
}

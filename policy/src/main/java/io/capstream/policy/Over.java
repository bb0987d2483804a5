package io.capstream.policy;

/** What happens beyond an entitlement's included amount. */
public enum Over {
    /** Usage goes on and is billed as overage. */
    BILL_OVERAGE,
    /** Requests go on, on the model's cheaper {@code downgrade_to}. */
    DOWNGRADE,
    /** Requests are slowed (429). */
    THROTTLE,
    /** Requests are refused (402). */
    BLOCK
}

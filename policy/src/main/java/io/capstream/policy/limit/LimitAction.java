package io.capstream.policy.limit;

import java.util.List;

/** What happens when a request would take a limit past 100 %: one action for every kind of limit. */
public enum LimitAction {
    /** Requests are refused (402). */
    BLOCK,
    /** Requests go on, on the model's cheaper {@code downgrade_to}. */
    DOWNGRADE,
    /** Requests are slowed (429). */
    THROTTLE,
    /** Requests go on; the crossing is notified (caps). */
    NOTIFY,
    /** Requests go on; usage beyond is billed as overage (entitlements). */
    BILL_OVERAGE;

    /** What an entitlement's {@code over} may say. */
    public static final List<LimitAction> ENTITLEMENT = List.of(BILL_OVERAGE, DOWNGRADE, THROTTLE, BLOCK);
    /** What a cap's {@code action} may say. */
    public static final List<LimitAction> CAP = List.of(BLOCK, DOWNGRADE, THROTTLE, NOTIFY);

    /** Whether a request past the limit goes on as asked (only notified or billed). */
    public boolean lets() {
        return this == NOTIFY || this == BILL_OVERAGE;
    }
}

package io.capstream.policy.booking;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Which event times are accepted (DESIGN 4.3), and how long a billing period stays open.
 *
 * <p>An event is accepted when it is not older than the late window (at most {@link #MAX_LATE_WINDOW},
 * 35 days, as Stripe accepts) and not more than {@link #MAX_FUTURE_SKEW} ahead of the time it was
 * received. The dedup window equals the late window, so an event accepted once is recognised when it
 * is sent again.
 *
 * <p>A billing period stays open for the billing grace after its end (by default the late window, so
 * every accepted event books into its period); a deployment that hands finance its totals sooner sets a
 * shorter grace, and an accepted event for a period already final becomes a billing adjustment
 * (docs/finance.md) instead of changing the final total.
 */
public record EventTimeWindow(Duration lateWindow, Duration billingGrace) {
    public static final Duration DEFAULT_LATE_WINDOW = Duration.ofHours(24);
    public static final Duration MAX_LATE_WINDOW = Duration.ofDays(35);
    public static final Duration MAX_FUTURE_SKEW = Duration.ofMinutes(5);

    public EventTimeWindow {
        if (lateWindow.isNegative() || lateWindow.isZero() || lateWindow.compareTo(MAX_LATE_WINDOW) > 0) {
            throw new IllegalArgumentException("the late window must be positive and at most " + human(MAX_LATE_WINDOW) + ", not " + lateWindow);
        }
        if (billingGrace.isNegative() || billingGrace.compareTo(lateWindow) > 0) {
            throw new IllegalArgumentException("the billing grace must be between 0 and the late window (" + human(lateWindow)
                    + "), not " + billingGrace);
        }
    }

    /** A window whose billing periods stay open for the whole late window. */
    public EventTimeWindow(Duration lateWindow) {
        this(lateWindow, lateWindow);
    }

    /** The reason the event time is refused, or empty when it is accepted. */
    public Optional<String> rejection(Instant eventTime, Instant receivedAt) {
        if (eventTime.isBefore(receivedAt.minus(lateWindow))) {
            return Optional.of("event time " + eventTime + " is older than the late window of " + human(lateWindow)
                    + " (received at " + receivedAt + ")");
        }
        if (eventTime.isAfter(receivedAt.plus(MAX_FUTURE_SKEW))) {
            return Optional.of("event time " + eventTime + " is more than " + human(MAX_FUTURE_SKEW)
                    + " in the future (received at " + receivedAt + ")");
        }
        return Optional.empty();
    }

    /** How long an event's identity must be remembered to recognise every accepted retry. */
    public Duration dedupWindow() {
        return lateWindow.plus(MAX_FUTURE_SKEW);
    }

    /** When a billing period ending at {@code periodEnd} becomes final: its end, the billing grace and the allowed clock skew. */
    public Instant finalAt(Instant periodEnd) {
        return periodEnd.plus(billingGrace).plus(MAX_FUTURE_SKEW);
    }

    /**
     * Until when the totals of a period ending at {@code periodEnd} are kept: as long as an accepted event
     * can still belong to it (its end, the late window and the allowed clock skew). Between {@link #finalAt}
     * and this, late usage is booked against them and reported as a billing adjustment.
     */
    public Instant keptUntil(Instant periodEnd) {
        return periodEnd.plus(lateWindow).plus(MAX_FUTURE_SKEW);
    }

    private static String human(Duration d) {
        return d.toString().substring(2).toLowerCase();
    }
}

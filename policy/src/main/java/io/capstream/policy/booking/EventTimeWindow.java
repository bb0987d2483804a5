package io.capstream.policy.booking;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * Which event times are accepted (DESIGN 4.3): not older than the late window and not more than
 * {@link #MAX_FUTURE_SKEW} ahead of the time the event was received. The dedup window equals the
 * late window, so an event accepted once is recognised when it is sent again.
 */
public record EventTimeWindow(Duration lateWindow) {
    public static final Duration DEFAULT_LATE_WINDOW = Duration.ofHours(24);
    public static final Duration MAX_FUTURE_SKEW = Duration.ofMinutes(5);

    public EventTimeWindow {
        if (lateWindow.isNegative() || lateWindow.isZero()) {
            throw new IllegalArgumentException("the late window must be positive, not " + lateWindow);
        }
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

    private static String human(Duration d) {
        return d.toString().substring(2).toLowerCase();
    }
}

package io.capstream.policy.decision;

import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.Measure;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.util.Locale;

/** How amounts and times are said to people, the same in refusals, emails and webhooks. */
public final class Wording {
    private static final DateTimeFormatter WHEN = DateTimeFormatter.ofPattern("MMMM d, uuuu 'at' HH:mm", Locale.ENGLISH);

    /** The measure of a spend rate (a runaway breaker's). */
    public static final String RATE = "USD/minute";

    private Wording() {}

    /** {@code $90.12} for money (to the cent), {@code $6.00 a minute} for a spend rate, {@code 900 requests} for a meter. */
    public static String amount(BigDecimal value, String measure) {
        if (RATE.equals(measure)) {
            return "$" + value.setScale(2, RoundingMode.HALF_UP).toPlainString() + " a minute";
        }
        return Measure.of(measure).isMoney() ? "$" + value.setScale(2, RoundingMode.HALF_UP).toPlainString()
                : Decimals.formatQuantity(value) + " " + measure;
    }

    /** As {@link #amount}, but exact: money to the last digit that is not zero, at least to the cent ("$9.999", "$0.001"). */
    public static String exact(BigDecimal value, String measure) {
        if (RATE.equals(measure)) {
            return "$" + Decimals.formatMoney(value) + " a minute";
        }
        return Measure.of(measure).isMoney() ? "$" + Decimals.formatMoney(value) : Decimals.formatQuantity(value) + " " + measure;
    }

    /** {@code December 1, 2026 at 00:00 (America/Los_Angeles, UTC-08:00)}. */
    public static String when(Instant t, ZoneId zone) {
        ZonedDateTime at = t.atZone(zone);
        String offset = at.getOffset().getTotalSeconds() == 0 ? "" : at.getOffset().getId();
        return WHEN.format(at) + " (" + zone.getId() + ", UTC" + offset + ")";
    }

    /** {@code 90 %} for 0.9. */
    public static String percent(BigDecimal fraction) {
        return fraction.movePointRight(2).stripTrailingZeros().toPlainString() + " %";
    }
}

package io.capstream.policy.input;

import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Times from outside, as RFC 3339 with an offset ({@code 2026-11-21T10:00:00Z},
 * {@code 2026-11-21T15:30:00+05:30}): a four-digit year from 1970 to 9999, so every accepted time fits
 * the wire's {@code timestamp-millis}. A leap second ({@code 23:59:60}) is accepted, as RFC 3339 allows,
 * and read as the last instant before the next minute (java.time has no leap seconds).
 */
public final class Times {
    private static final Pattern RFC_3339 = Pattern.compile(
            "([0-9]{4}-[0-9]{2}-[0-9]{2})[Tt]([0-9]{2}:[0-9]{2}):([0-9]{2})(\\.[0-9]{1,9})?([Zz]|[+-][0-9]{2}:[0-9]{2})");
    /** What a refused time is told. */
    public static final String EXPECTED = "an RFC 3339 time with an offset, from 1970 to 9999, e.g. 2026-11-21T10:00:00Z";

    private Times() {}

    /** @throws IllegalArgumentException with {@link #EXPECTED} when the text is not such a time */
    public static Instant parse(String text) {
        Matcher m = text == null ? null : RFC_3339.matcher(text);
        if (m == null || !m.matches() || m.group(1).compareTo("1970") < 0) {
            throw new IllegalArgumentException(EXPECTED);
        }
        boolean leap = m.group(3).equals("60");
        String seconds = leap ? "59" : m.group(3);
        String fraction = leap ? ".999999999" : m.group(4) == null ? "" : m.group(4);
        try {
            return OffsetDateTime.parse(m.group(1) + "T" + m.group(2) + ":" + seconds + fraction + m.group(5).toUpperCase()).toInstant();
        } catch (DateTimeException e) {
            throw new IllegalArgumentException(EXPECTED);
        }
    }
}

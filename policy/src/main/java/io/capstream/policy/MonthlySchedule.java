package io.capstream.policy;

import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneId;

/**
 * Monthly periods that start at local midnight on day {@code anchorDay} of each month in a timezone,
 * clamped to the month's last day (day 31 starts on 28 or 29 February). Boundaries follow the zone's
 * rules, so they are right across DST changes and for offsets such as +05:30.
 */
public record MonthlySchedule(int anchorDay, ZoneId zone) {
    public MonthlySchedule {
        if (anchorDay < 1 || anchorDay > 31) {
            throw new IllegalArgumentException("anchor day must be 1..31, not " + anchorDay);
        }
    }

    /** The period that contains {@code t}. */
    public Period periodAt(Instant t) {
        YearMonth month = YearMonth.from(t.atZone(zone));
        Instant start = startOf(month);
        if (t.isBefore(start)) {
            month = month.minusMonths(1);
            start = startOf(month);
        }
        return new Period(start, startOf(month.plusMonths(1)));
    }

    private Instant startOf(YearMonth month) {
        LocalDate day = month.atDay(Math.min(anchorDay, month.lengthOfMonth()));
        return day.atStartOfDay(zone).toInstant();
    }
}

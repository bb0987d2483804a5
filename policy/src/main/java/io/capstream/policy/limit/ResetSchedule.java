package io.capstream.policy.limit;

import java.time.DayOfWeek;
import java.time.Instant;
import java.time.LocalDate;
import java.time.YearMonth;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import java.time.temporal.ChronoUnit;
import java.time.temporal.TemporalAdjusters;
import java.util.Locale;
import java.util.Map;

/**
 * When a limit resets (DESIGN 4.3): {@code hourly}, {@code daily}, {@code weekly:mon}…{@code weekly:sun},
 * {@code monthly:N} (N = 1–31, clamped to the month's last day), {@code billing} (monthly on the
 * customer's anchor day), {@code yearly}, {@code none}. Boundaries are local midnight (or the top of
 * the local hour) in the limit's timezone, computed with the zone's rules, so they are right across
 * DST changes and for offsets such as +05:30 and +13:00. A reset is not a job: the period is part of
 * the total's key, so a new period simply starts at zero.
 */
public sealed interface ResetSchedule {
    /** The period that contains {@code t}, with boundaries in {@code zone}. */
    Period periodAt(Instant t, ZoneId zone);

    /** The schedule as written in the policy document. */
    String text();

    /** This schedule with {@code billing} resolved to the customer's anchor day. */
    default ResetSchedule resolve(int billingAnchorDay) {
        return this;
    }

    Map<String, DayOfWeek> DAYS = Map.of("mon", DayOfWeek.MONDAY, "tue", DayOfWeek.TUESDAY, "wed", DayOfWeek.WEDNESDAY,
            "thu", DayOfWeek.THURSDAY, "fri", DayOfWeek.FRIDAY, "sat", DayOfWeek.SATURDAY, "sun", DayOfWeek.SUNDAY);

    /**
     * Parses a schedule.
     *
     * @throws IllegalArgumentException naming the accepted forms
     */
    public static ResetSchedule parse(String text) {
        String s = text == null ? "" : text.strip().toLowerCase(Locale.ROOT);
        switch (s) {
            case "hourly": return new Hourly();
            case "daily": return new Daily();
            case "billing": return new Billing();
            case "yearly": return new Yearly();
            case "none": return new Never();
            case "monthly": return new Monthly(1);
            default: break;
        }
        if (s.startsWith("weekly:") && DAYS.containsKey(s.substring(7))) {
            return new Weekly(DAYS.get(s.substring(7)));
        }
        if (s.startsWith("monthly:") && s.substring(8).matches("[0-9]{1,2}")) { // ASCII digits only
            try {
                int day = Integer.parseInt(s.substring(8));
                if (day >= 1 && day <= 31) {
                    return new Monthly(day);
                }
            } catch (NumberFormatException e) {
                // falls through to the error below
            }
        }
        throw new IllegalArgumentException("'" + text + "' is not a schedule: use hourly, daily, weekly:mon..weekly:sun, "
                + "monthly:1..monthly:31, billing, yearly or none");
    }

    record Hourly() implements ResetSchedule {
        public Period periodAt(Instant t, ZoneId zone) {
            ZonedDateTime start = t.atZone(zone).truncatedTo(ChronoUnit.HOURS);
            return new Period(start.toInstant(), start.plusHours(1).toInstant());
        }

        public String text() {
            return "hourly";
        }
    }

    record Daily() implements ResetSchedule {
        public Period periodAt(Instant t, ZoneId zone) {
            LocalDate day = t.atZone(zone).toLocalDate();
            return new Period(day.atStartOfDay(zone).toInstant(), day.plusDays(1).atStartOfDay(zone).toInstant());
        }

        public String text() {
            return "daily";
        }
    }

    record Weekly(DayOfWeek firstDay) implements ResetSchedule {
        public Period periodAt(Instant t, ZoneId zone) {
            LocalDate start = t.atZone(zone).toLocalDate().with(TemporalAdjusters.previousOrSame(firstDay));
            return new Period(start.atStartOfDay(zone).toInstant(), start.plusWeeks(1).atStartOfDay(zone).toInstant());
        }

        public String text() {
            return "weekly:" + firstDay.name().substring(0, 3).toLowerCase(Locale.ROOT);
        }
    }

    record Monthly(int day) implements ResetSchedule {
        public Monthly {
            if (day < 1 || day > 31) {
                throw new IllegalArgumentException("day must be 1..31, not " + day);
            }
        }

        public Period periodAt(Instant t, ZoneId zone) {
            YearMonth month = YearMonth.from(t.atZone(zone));
            Instant start = startOf(month, zone);
            if (t.isBefore(start)) {
                month = month.minusMonths(1);
                start = startOf(month, zone);
            }
            return new Period(start, startOf(month.plusMonths(1), zone));
        }

        private Instant startOf(YearMonth month, ZoneId zone) {
            return month.atDay(Math.min(day, month.lengthOfMonth())).atStartOfDay(zone).toInstant();
        }

        public String text() {
            return "monthly:" + day;
        }
    }

    /** Monthly on the customer's billing anchor day; {@link #resolve} turns it into a {@link Monthly}. */
    record Billing() implements ResetSchedule {
        public Period periodAt(Instant t, ZoneId zone) {
            return new Monthly(1).periodAt(t, zone);
        }

        /** One {@link Monthly} per anchor day, made once: every check resolves its billing-period limits. */
        private static final Monthly[] ON_DAY = java.util.stream.IntStream.rangeClosed(0, 31)
                .mapToObj(d -> d == 0 ? null : new Monthly(d)).toArray(Monthly[]::new);

        public ResetSchedule resolve(int billingAnchorDay) {
            return billingAnchorDay >= 1 && billingAnchorDay <= 31 ? ON_DAY[billingAnchorDay] : new Monthly(billingAnchorDay);
        }

        public String text() {
            return "billing";
        }
    }

    record Yearly() implements ResetSchedule {
        public Period periodAt(Instant t, ZoneId zone) {
            int year = t.atZone(zone).getYear();
            return new Period(LocalDate.of(year, 1, 1).atStartOfDay(zone).toInstant(),
                    LocalDate.of(year + 1, 1, 1).atStartOfDay(zone).toInstant());
        }

        public String text() {
            return "yearly";
        }
    }

    /** Never resets: one period for all time. */
    record Never() implements ResetSchedule {
        public static final Period ALL_TIME = new Period(Instant.EPOCH, Instant.parse("9999-12-31T00:00:00Z"));

        public Period periodAt(Instant t, ZoneId zone) {
            return ALL_TIME;
        }

        public String text() {
            return "none";
        }
    }
}

package io.capstream.policy.booking;

import io.capstream.policy.input.Decimals;
import io.capstream.policy.input.KeyParts;
import io.capstream.policy.limit.Period;
import java.math.BigDecimal;

import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.LocalDate;
import java.time.zone.ZoneOffsetTransition;
import java.time.zone.ZoneRules;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.function.Predicate;

/**
 * Usage over time: each booked event also counts in the bucket of its customer's local hour and local
 * day (DESIGN 4.2, the customer's timezone; a day is 23, 24 or 25 hours across a DST change), under the
 * combination of feature, model, API key and user it was on. A bucket keeps at most
 * {@link #MAX_COMBINATIONS} combinations as they come; beyond that the API key and user of a new
 * combination are counted as {@link #OTHER}, and beyond twice that the whole combination: sums stay
 * exact, only the breakdown of a customer with very many keys or users is coarser.
 */
public final class Series {
    private Series() {}

    /** What a combination beyond the bound is counted under; no identifier can be this ({@code Fields.IDENTIFIER}). */
    public static final String OTHER = "(other)";
    /** What usage can be grouped by: a {@link Combination}'s dimensions. */
    public static final List<String> DIMENSIONS = List.of("feature", "model", "api_key", "user");

    /** Combinations of feature, model, API key and user a bucket keeps before folding new ones. */
    public static final int MAX_COMBINATIONS = 100;

    /**
     * The most hourly buckets a local day holds, in any IANA zone from 1970 on: a day is usually 23 to 25 hours, but an offset change
     * that is not a whole hour cuts one more bucket (Pacific/Chatham's fall-back day is 26), and some zones changed by hours at
     * once (Antarctica/Vostok's day of 1994-01-31 was 31 hours). Checked over every zone's transitions in {@code SeriesTest}.
     */
    public static final int MAX_HOURS_PER_DAY = 32;

    /**
     * The largest amount an hour's bucket keeps: a day's bucket, the sum of the hours of the day in at most two timezones (across a
     * change of the customer's), each at most {@link #MAX_HOURS_PER_DAY}, of at most 2 × {@link #MAX_COMBINATIONS} + 1 combinations,
     * then always fits a total ({@link Decimals#MAX_TOTAL}).
     */
    public static final BigDecimal MAX_HOUR_AMOUNT = Decimals.MAX_TOTAL.divide(
            BigDecimal.valueOf(2L * MAX_HOURS_PER_DAY * (2 * MAX_COMBINATIONS + 1)), 0, java.math.RoundingMode.DOWN);

    /** Whether a bucket of {@code granularity} can keep {@code amount}. */
    public static boolean fits(Granularity granularity, BigDecimal amount) {
        return amount.abs().compareTo(granularity == Granularity.HOUR ? MAX_HOUR_AMOUNT : Decimals.MAX_TOTAL) < 0;
    }

    public enum Granularity {
        HOUR, DAY;

        /**
         * The local hour or day that contains {@code t} in {@code zone}. A day runs from one local midnight
         * (its first occurrence) to the next. An hour runs from one local hour to the next at the offset in
         * force, cut where the offset changes: the repeated hour of a fall-back is two buckets, and a
         * half-hour change (Lord Howe) makes a half-hour bucket.
         */
        public Period bucketAt(Instant t, ZoneId zone) {
            if (this == HOUR) {
                ZoneRules rules = zone.getRules();
                Instant start = t.atOffset(rules.getOffset(t)).truncatedTo(ChronoUnit.HOURS).toInstant();
                Instant end = start.plus(Duration.ofHours(1));
                ZoneOffsetTransition before = rules.previousTransition(t.plusNanos(1)); // the last change at or before t
                if (before != null && before.getInstant().isAfter(start)) {
                    start = before.getInstant();
                }
                ZoneOffsetTransition after = rules.nextTransition(t);
                if (after != null && after.getInstant().isBefore(end)) {
                    end = after.getInstant();
                }
                return new Period(start, end);
            }
            LocalDate day = t.atZone(zone).toLocalDate();
            // after a fall-back at midnight the local date goes back for an hour: those instants belong to the new day
            while (!t.isBefore(midnight(day.plusDays(1), zone))) {
                day = day.plusDays(1);
            }
            while (t.isBefore(midnight(day, zone))) {
                day = day.minusDays(1);
            }
            return new Period(midnight(day, zone), midnight(day.plusDays(1), zone));
        }

        private static Instant midnight(LocalDate day, ZoneId zone) {
            return day.atStartOfDay(zone).toInstant();
        }

        /** {@code hour} or {@code day}; the message names what is accepted. */
        public static Granularity parse(String text) {
            return switch (text == null ? "" : text.toLowerCase(Locale.ROOT)) {
                case "hour" -> HOUR;
                case "day" -> DAY;
                default -> throw new IllegalArgumentException("granularity must be hour or day");
            };
        }

        public String text() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** The buckets that start in [from, to), in order. */
    public static List<Period> buckets(Instant from, Instant to, ZoneId zone, Granularity granularity) {
        return buckets(from, to, zone, granularity, Integer.MAX_VALUE);
    }

    /**
     * The buckets that start in [from, to), in order, but no more than {@code most}: a longer span is listed only
     * up to there (so a caller that bounds the buckets of a request lists {@code most + 1} to know, and no more).
     */
    public static List<Period> buckets(Instant from, Instant to, ZoneId zone, Granularity granularity, int most) {
        List<Period> buckets = new ArrayList<>();
        Period b = granularity.bucketAt(from, zone);
        if (b.start().isBefore(from)) {
            b = granularity.bucketAt(b.end(), zone);
        }
        while (b.start().isBefore(to) && buckets.size() < most) {
            buckets.add(b);
            b = granularity.bucketAt(b.end(), zone);
        }
        return buckets;
    }

    /** What an event was used on; a missing model, key or user is the empty string. */
    public record Combination(String feature, String model, String apiKey, String user) {
        public static final Combination ALL_OTHER = new Combination(OTHER, OTHER, OTHER, OTHER);

        public static Combination of(String feature, String model, String apiKey, String user) {
            return new Combination(feature, model == null ? "" : model, apiKey == null ? "" : apiKey, user == null ? "" : user);
        }

        /**
         * {@code feature|model|api_key|user}, each part escaped ({@link KeyParts}): an API key or a user is free text and may
         * hold {@code |}.
         */
        public String key() {
            return KeyParts.escape(feature) + '|' + KeyParts.escape(model) + '|' + KeyParts.escape(apiKey) + '|' + KeyParts.escape(user);
        }

        /**
         * The combination of a {@link #key}. A key of more than four parts was written before the parts were escaped, from an API
         * key or user holding {@code |}: its first two parts are the feature and the model (identifiers), the third the API key
         * and the rest the user (where the {@code |}s were cannot be told any more; the sums stay exact).
         */
        public static Combination ofKey(String key) {
            String[] parts = key.split("\\|", -1);
            if (parts.length < 4) {
                throw new IllegalArgumentException("not a combination key: " + key);
            }
            if (parts.length == 4) {
                return new Combination(KeyParts.unescape(parts[0]), KeyParts.unescape(parts[1]), KeyParts.unescape(parts[2]),
                        KeyParts.unescape(parts[3]));
            }
            return new Combination(parts[0], parts[1], parts[2], String.join("|", Arrays.asList(parts).subList(3, parts.length)));
        }

        /** The value of one dimension: {@code feature}, {@code model}, {@code api_key} or {@code user}. */
        public String get(String dimension) {
            return switch (dimension) {
                case "feature" -> feature;
                case "model" -> model;
                case "api_key" -> apiKey;
                case "user" -> user;
                default -> throw new IllegalArgumentException("one of " + DIMENSIONS);
            };
        }
    }

    /**
     * The combination an event counts under in a bucket that already keeps {@code kept} combinations
     * ({@code isKept} says whether one is among them): its own while the bucket has room or keeps it,
     * then with its key and user folded into {@link #OTHER}, then {@link Combination#ALL_OTHER}.
     */
    public static Combination bounded(Combination c, int kept, Predicate<Combination> isKept) {
        if (kept < MAX_COMBINATIONS || isKept.test(c)) {
            return c;
        }
        Combination folded = new Combination(c.feature(), c.model(), OTHER, OTHER);
        if (kept < 2 * MAX_COMBINATIONS || isKept.test(folded)) {
            return folded;
        }
        return Combination.ALL_OTHER;
    }
}

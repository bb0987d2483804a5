package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.Series;
import io.capstream.policy.booking.Series.Combination;
import io.capstream.policy.booking.Series.Granularity;
import io.capstream.policy.limit.Period;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Set;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** Local hours and days of usage series, across DST changes and odd offsets, and the bound on combinations per bucket. */
class SeriesTest {
    static final ZoneId NEW_YORK = ZoneId.of("America/New_York");

    @Test
    void aLocalDayIs23Or25HoursLongOnTheDaysTheClocksChange() {
        Period spring = Granularity.DAY.bucketAt(Instant.parse("2026-03-08T12:00:00Z"), NEW_YORK);
        Period fall = Granularity.DAY.bucketAt(Instant.parse("2026-11-01T12:00:00Z"), NEW_YORK);
        assertThat(spring).isEqualTo(new Period(Instant.parse("2026-03-08T05:00:00Z"), Instant.parse("2026-03-09T04:00:00Z")));
        assertThat(Duration.between(spring.start(), spring.end())).hasHours(23);
        assertThat(Duration.between(fall.start(), fall.end())).hasHours(25);
    }

    @Test
    void theRepeatedHourOfAFallBackIsTwoHourlyBucketsAndHalfHourOffsetsCutAtTheLocalHour() {
        // 01:00–02:00 happens twice in New York on 2026-11-01: EDT (05:00Z) then EST (06:00Z)
        Period first = Granularity.HOUR.bucketAt(Instant.parse("2026-11-01T05:30:00Z"), NEW_YORK);
        Period second = Granularity.HOUR.bucketAt(Instant.parse("2026-11-01T06:30:00Z"), NEW_YORK);
        assertThat(first.start()).isEqualTo(Instant.parse("2026-11-01T05:00:00Z"));
        assertThat(second.start()).isEqualTo(Instant.parse("2026-11-01T06:00:00Z"));
        // India is UTC+05:30: a local hour starts at half past a UTC hour
        assertThat(Granularity.HOUR.bucketAt(Instant.parse("2026-11-01T10:10:00Z"), ZoneId.of("Asia/Kolkata")).start())
                .isEqualTo(Instant.parse("2026-11-01T09:30:00Z"));
        assertThat(Series.buckets(Instant.parse("2026-11-01T04:00:00Z"), Instant.parse("2026-11-02T05:00:00Z"), NEW_YORK, Granularity.DAY))
                .containsExactly(new Period(Instant.parse("2026-11-01T04:00:00Z"), Instant.parse("2026-11-02T05:00:00Z")));
        assertThat(Series.buckets(Instant.parse("2026-11-01T04:00:00Z"), Instant.parse("2026-11-02T05:00:00Z"), NEW_YORK, Granularity.HOUR))
                .hasSize(25);
    }

    @Property(tries = 1000)
    void aCombinationOfFreeTextKeysAndUsersReadsBackFromItsKey(@ForAll("freeText") String apiKey, @ForAll("freeText") String user) {
        Combination c = Combination.of("chat", "gpt-4o", apiKey, user);
        String key = c.key();
        assertThat(key.chars().filter(ch -> ch == '|')).hasSize(3);
        assertThat(Combination.ofKey(key)).isEqualTo(c);
        if (apiKey.indexOf('|') < 0 && apiKey.indexOf('%') < 0 && user.indexOf('|') < 0 && user.indexOf('%') < 0) {
            assertThat(key).isEqualTo("chat|gpt-4o|" + apiKey + "|" + user); // as written before the escaping
        }
    }

    @Provide
    Arbitrary<String> freeText() {
        return Arbitraries.strings().withChars("|%7C25ab ").ofMaxLength(12);
    }

    @Test
    void aKeyWrittenBeforeTheEscapingWithABarInItsUserStillReads() {
        assertThat(Combination.ofKey("chat|gpt-4o|key_1|a|b")).isEqualTo(new Combination("chat", "gpt-4o", "key_1", "a|b"));
        assertThat(Combination.ofKey("chat||key|50%off")).isEqualTo(new Combination("chat", "", "key", "50%off"));
    }

    @Provide
    Arbitrary<ZoneId> zones() {
        return Arbitraries.of("UTC", "America/New_York", "Europe/Berlin", "Asia/Kolkata", "Asia/Kathmandu", "Australia/Lord_Howe",
                "Pacific/Chatham", "America/St_Johns", "America/Havana", "America/Santiago", "Pacific/Apia").map(ZoneId::of);
    }

    @Property(tries = 500)
    void bucketsOfASpanAreContiguousAndEachHoldsItsOwnStart(@ForAll("zones") ZoneId zone,
                                                            @ForAll @LongRange(min = 1_200_000_000L, max = 1_900_000_000L) long fromSeconds,
                                                            @ForAll @LongRange(min = 1, max = 90 * 24) long hours) {
        for (Granularity g : Granularity.values()) {
            Instant from = Instant.ofEpochSecond(fromSeconds);
            Instant to = from.plus(Duration.ofHours(hours));
            List<Period> buckets = Series.buckets(from, to, zone, g);
            for (int i = 0; i < buckets.size(); i++) {
                Period b = buckets.get(i);
                assertThat(b.start()).isAfterOrEqualTo(from).isBefore(to);
                assertThat(g.bucketAt(b.start(), zone)).isEqualTo(b);
                assertThat(g.bucketAt(b.end().minusMillis(1), zone)).isEqualTo(b);
                if (i > 0) {
                    assertThat(buckets.get(i - 1).end()).isEqualTo(b.start());
                }
            }
            // listed up to a bound, the same buckets up to there
            int most = (int) (hours % 7);
            assertThat(Series.buckets(from, to, zone, g, most)).isEqualTo(buckets.subList(0, Math.min(most, buckets.size())));
            // every instant of the span after the first bucket's start is in exactly one listed bucket
            if (!buckets.isEmpty()) {
                Instant t = buckets.get(0).start().plus(Duration.between(buckets.get(0).start(), to).dividedBy(2));
                assertThat(buckets.stream().filter(b -> b.contains(t))).hasSize(1);
            }
        }
    }

    @Test
    void noLocalDayOfAnyZoneHoldsMoreHourlyBucketsThanTheBound() {
        // every offset change of every zone from 1970 (the first year the API takes) to 2200, beyond which the rules repeat
        Instant from = Instant.parse("1970-01-01T00:00:00Z");
        Instant until = Instant.parse("2200-01-01T00:00:00Z");
        int most = 0;
        for (String id : ZoneId.getAvailableZoneIds()) {
            ZoneId zone = ZoneId.of(id);
            for (var t = zone.getRules().nextTransition(from); t != null && t.getInstant().isBefore(until); t = zone.getRules().nextTransition(t.getInstant())) {
                Period day = Granularity.DAY.bucketAt(t.getInstant(), zone);
                most = Math.max(most, Series.buckets(day.start(), day.end(), zone, Granularity.HOUR).size());
            }
        }
        assertThat(most).isLessThanOrEqualTo(Series.MAX_HOURS_PER_DAY);
        Period chatham = Granularity.DAY.bucketAt(Instant.parse("2021-04-03T12:00:00Z"), ZoneId.of("Pacific/Chatham")); // 25 hours, one cut off-hour
        assertThat(Series.buckets(chatham.start(), chatham.end(), ZoneId.of("Pacific/Chatham"), Granularity.HOUR)).hasSize(26);
    }

    @Property(tries = 300)
    void aDayHoldsAtMost25HoursSoADayOfFullHoursStillFitsATotal(@ForAll("zones") ZoneId zone,
                                                              @ForAll @LongRange(min = 1_200_000_000L, max = 1_900_000_000L) long atSeconds) {
        Period day = Granularity.DAY.bucketAt(Instant.ofEpochSecond(atSeconds), zone);
        List<Period> hours = Series.buckets(day.start(), day.end(), zone, Granularity.HOUR);
        assertThat(hours).hasSizeLessThanOrEqualTo(Series.MAX_HOURS_PER_DAY);
        assertThat(hours.getFirst().start()).isEqualTo(day.start());
        assertThat(hours.getLast().end()).isEqualTo(day.end());
        // the rollup of a day adds hours (of at most two timezones) of every kept combination into a day's bucket
        java.math.BigDecimal fullestDay = Series.MAX_HOUR_AMOUNT.multiply(
                java.math.BigDecimal.valueOf(2L * Series.MAX_HOURS_PER_DAY * (2 * Series.MAX_COMBINATIONS + 1)));
        assertThat(Series.fits(Granularity.DAY, fullestDay)).isTrue();
        assertThat(Series.fits(Granularity.HOUR, Series.MAX_HOUR_AMOUNT)).isFalse();
    }

    @Test
    void aBucketKeepsItsFirstCombinationsThenFoldsKeyAndUserThenEverything() {
        Combination c = Combination.of("chat", "gpt-4o", "key_9", "usr_9");
        Combination folded = new Combination("chat", "gpt-4o", Series.OTHER, Series.OTHER);
        assertThat(Series.bounded(c, Series.MAX_COMBINATIONS - 1, x -> false)).isEqualTo(c);
        assertThat(Series.bounded(c, Series.MAX_COMBINATIONS, Set.of(c)::contains)).isEqualTo(c);
        assertThat(Series.bounded(c, Series.MAX_COMBINATIONS, x -> false)).isEqualTo(folded);
        assertThat(Series.bounded(c, 2 * Series.MAX_COMBINATIONS, Set.of(folded)::contains)).isEqualTo(folded);
        assertThat(Series.bounded(c, 2 * Series.MAX_COMBINATIONS, x -> false)).isEqualTo(Combination.ALL_OTHER);
        assertThat(Combination.ofKey(Combination.of("chat", null, null, "u").key())).isEqualTo(new Combination("chat", "", "", "u"));
    }
}

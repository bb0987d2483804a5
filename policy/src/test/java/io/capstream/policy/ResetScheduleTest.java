package io.capstream.policy;

import io.capstream.policy.limit.Period;
import io.capstream.policy.limit.ResetSchedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.time.ZoneId;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class ResetScheduleTest {
    static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    static final ZoneId KOLKATA = ZoneId.of("Asia/Kolkata");

    @Test
    void weeklyMondayInLosAngelesResetsAtMondayMidnightLocalAlsoInTheWeekOfADstChange() {
        ResetSchedule weekly = ResetSchedule.parse("weekly:mon");
        // DST ended on Sunday 2026-11-01 in Los Angeles: the week from Monday 26 Oct is 7 days + 1 hour long
        Period p = weekly.periodAt(Instant.parse("2026-10-30T12:00:00Z"), LA);
        assertThat(p.start()).isEqualTo(Instant.parse("2026-10-26T07:00:00Z")); // Monday 00:00 PDT
        assertThat(p.end()).isEqualTo(Instant.parse("2026-11-02T08:00:00Z"));   // Monday 00:00 PST
        // and the spring-forward week of 2026-03-08 is an hour shorter
        Period spring = weekly.periodAt(Instant.parse("2026-03-10T00:00:00Z"), LA);
        assertThat(spring.start()).isEqualTo(Instant.parse("2026-03-09T07:00:00Z"));
        Period before = weekly.periodAt(Instant.parse("2026-03-08T12:00:00Z"), LA);
        assertThat(before.start()).isEqualTo(Instant.parse("2026-03-02T08:00:00Z"));
        assertThat(before.end()).isEqualTo(spring.start());
    }

    @Test
    void dailyInKolkataResetsAtLocalMidnight() {
        Period p = ResetSchedule.parse("daily").periodAt(Instant.parse("2026-11-21T20:00:00Z"), KOLKATA);
        assertThat(p.start()).isEqualTo(Instant.parse("2026-11-21T18:30:00Z"));
        assertThat(p.end()).isEqualTo(Instant.parse("2026-11-22T18:30:00Z"));
    }

    @Test
    void monthly31ResetsOnTheLastDayOfFebruary() {
        ResetSchedule m = ResetSchedule.parse("monthly:31");
        Period feb = m.periodAt(Instant.parse("2027-03-01T00:00:00Z"), ZoneId.of("UTC"));
        assertThat(feb.start()).isEqualTo(Instant.parse("2027-02-28T00:00:00Z"));
        assertThat(feb.end()).isEqualTo(Instant.parse("2027-03-31T00:00:00Z"));
        assertThat(m.periodAt(Instant.parse("2028-02-29T12:00:00Z"), ZoneId.of("UTC")).start())
                .isEqualTo(Instant.parse("2028-02-29T00:00:00Z"));
    }

    @Test
    void hourlyFollowsTheLocalHourInHalfHourZones() {
        Period p = ResetSchedule.parse("hourly").periodAt(Instant.parse("2026-11-21T10:10:00Z"), KOLKATA);
        assertThat(p.start()).isEqualTo(Instant.parse("2026-11-21T09:30:00Z"));
        assertThat(p.end()).isEqualTo(Instant.parse("2026-11-21T10:30:00Z"));
    }

    @Test
    void plusThirteenHoursZoneStartsTheDayBeforeUtc() {
        Period p = ResetSchedule.parse("daily").periodAt(Instant.parse("2026-11-21T12:00:00Z"), ZoneId.of("Pacific/Tongatapu"));
        assertThat(p.start()).isEqualTo(Instant.parse("2026-11-21T11:00:00Z"));
    }

    @Test
    void billingResolvesToTheCustomersAnchorDayAndNoneNeverResets() {
        ResetSchedule billing = ResetSchedule.parse("billing").resolve(15);
        assertThat(billing).isEqualTo(new ResetSchedule.Monthly(15));
        Period all = ResetSchedule.parse("none").periodAt(Instant.parse("2026-11-21T12:00:00Z"), LA);
        assertThat(all.contains(Instant.parse("1999-01-01T00:00:00Z"))).isTrue();
        assertThat(ResetSchedule.parse("yearly").periodAt(Instant.parse("2026-11-21T12:00:00Z"), ZoneId.of("UTC")).start())
                .isEqualTo(Instant.parse("2026-01-01T00:00:00Z"));
    }

    @Test
    void refusesUnknownSchedulesNamingTheAcceptedForms() {
        assertThatThrownBy(() -> ResetSchedule.parse("weekly:funday")).hasMessageContaining("weekly:mon..weekly:sun");
        assertThatThrownBy(() -> ResetSchedule.parse("monthly:32")).hasMessageContaining("monthly:1..monthly:31");
    }

    @Property
    void everyPeriodContainsItsStartNotItsEndAndTheNextStartsWhereItEnds(
            @ForAll @LongRange(min = 0, max = 4_102_444_800L) long epochSecond,
            @ForAll("schedules") String schedule,
            @ForAll("zones") ZoneId zone) {
        Instant t = Instant.ofEpochSecond(epochSecond);
        ResetSchedule s = ResetSchedule.parse(schedule);
        Period p = s.periodAt(t, zone);
        assertThat(p.contains(t)).isTrue();
        assertThat(p.contains(p.start())).isTrue();
        assertThat(p.contains(p.end())).isFalse();
        if (!schedule.equals("none")) {
            assertThat(s.periodAt(p.end(), zone).start()).isEqualTo(p.end());
            assertThat(s.periodAt(p.start().minusNanos(1), zone).end()).isEqualTo(p.start());
        }
    }

    @Provide
    Arbitrary<String> schedules() {
        return Arbitraries.of("hourly", "daily", "weekly:mon", "weekly:sun", "monthly:1", "monthly:15", "monthly:29",
                "monthly:31", "yearly", "none");
    }

    @Provide
    Arbitrary<ZoneId> zones() {
        return Arbitraries.of("UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Apia", "Pacific/Tongatapu", "Europe/London",
                        "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kathmandu", "America/St_Johns")
                .map(ZoneId::of);
    }
}

package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneId;
import java.time.ZonedDateTime;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class MonthlyScheduleTest {
    @Test
    void monthStartsAtLocalMidnightInTheZone() {
        Period p = new MonthlySchedule(1, ZoneId.of("Asia/Kolkata")).periodAt(Instant.parse("2026-11-21T10:00:00Z"));
        assertThat(p.start()).isEqualTo(Instant.parse("2026-10-31T18:30:00Z"));
        assertThat(p.end()).isEqualTo(Instant.parse("2026-11-30T18:30:00Z"));
    }

    @Test
    void anchorDay31IsClampedToTheLastDayOfFebruary() {
        Period p = new MonthlySchedule(31, ZoneId.of("UTC")).periodAt(Instant.parse("2027-03-01T00:00:00Z"));
        assertThat(p.start()).isEqualTo(Instant.parse("2027-02-28T00:00:00Z"));
        assertThat(p.end()).isEqualTo(Instant.parse("2027-03-31T00:00:00Z"));
    }

    @Test
    void periodAcrossADstChangeIsAnHourShorterAndStartsAtLocalMidnight() {
        ZoneId la = ZoneId.of("America/Los_Angeles");
        Period p = new MonthlySchedule(1, la).periodAt(Instant.parse("2026-11-15T00:00:00Z"));
        assertThat(p.start().atZone(la).toLocalTime().toString()).isEqualTo("00:00");
        assertThat(p.end().atZone(la).toLocalTime().toString()).isEqualTo("00:00");
        assertThat(p.end().getEpochSecond() - p.start().getEpochSecond()).isEqualTo(30L * 86400 + 3600);
    }

    @Property
    void periodContainsItsInstantAndItsStartButNotItsEnd(
            @ForAll @LongRange(min = 0, max = 4_102_444_800L) long epochSecond,
            @ForAll @IntRange(min = 1, max = 31) int anchor,
            @ForAll("zones") ZoneId zone) {
        Instant t = Instant.ofEpochSecond(epochSecond);
        MonthlySchedule schedule = new MonthlySchedule(anchor, zone);
        Period p = schedule.periodAt(t);
        assertThat(p.contains(t)).isTrue();
        assertThat(p.contains(p.start())).isTrue();
        assertThat(p.contains(p.end())).isFalse();
        assertThat(schedule.periodAt(p.end()).start()).isEqualTo(p.end());
        ZonedDateTime localStart = p.start().atZone(zone);
        assertThat(localStart.getDayOfMonth()).isEqualTo(Math.min(anchor, localStart.toLocalDate().lengthOfMonth()));
    }

    @Provide
    Arbitrary<ZoneId> zones() {
        return Arbitraries.of("UTC", "America/Los_Angeles", "Asia/Kolkata", "Pacific/Apia", "Europe/London",
                        "Australia/Lord_Howe", "America/Sao_Paulo", "Asia/Kathmandu")
                .map(ZoneId::of);
    }
}

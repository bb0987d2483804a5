package io.capstream.policy;

import io.capstream.policy.booking.EventTimeWindow;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class EventTimeWindowTest {
    final EventTimeWindow window = new EventTimeWindow(Duration.ofHours(24));
    final Instant now = Instant.parse("2026-11-21T10:00:00Z");

    @Test
    void acceptsEventsInsideTheLateWindowAndUpToFiveMinutesAhead() {
        assertThat(window.rejection(now.minus(Duration.ofHours(24)), now)).isEmpty();
        assertThat(window.rejection(now.plus(Duration.ofMinutes(5)), now)).isEmpty();
    }

    @Test
    void refusesLateAndFutureEventsWithAReason() {
        assertThat(window.rejection(now.minus(Duration.ofHours(24)).minusMillis(1), now))
                .hasValueSatisfying(r -> assertThat(r).contains("older than the late window of 24h"));
        assertThat(window.rejection(now.plus(Duration.ofMinutes(5)).plusMillis(1), now))
                .hasValueSatisfying(r -> assertThat(r).contains("in the future"));
    }

    @Test
    void aLateWindowOf35DaysAcceptsAnEvent35DaysOldAndNoLongerWindowIsAllowed() {
        EventTimeWindow stripe = new EventTimeWindow(Duration.ofDays(35));
        assertThat(stripe.rejection(now.minus(Duration.ofDays(35)), now)).isEmpty();
        assertThat(stripe.rejection(now.minus(Duration.ofDays(35)).minusMillis(1), now)).isPresent();
        assertThat(stripe.dedupWindow()).isEqualTo(Duration.ofDays(35).plusMinutes(5));
        assertThatThrownBy(() -> new EventTimeWindow(Duration.ofDays(35).plusMillis(1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at most 840h");
    }

    @Test
    void aPeriodIsFinalAfterTheBillingGraceWhichIsTheLateWindowUnlessShorter() {
        Instant end = Instant.parse("2026-11-01T00:00:00Z");
        assertThat(window.finalAt(end)).isEqualTo(Instant.parse("2026-11-02T00:05:00Z"));
        EventTimeWindow early = new EventTimeWindow(Duration.ofDays(35), Duration.ofDays(3));
        assertThat(early.finalAt(end)).isEqualTo(Instant.parse("2026-11-04T00:05:00Z"));
        assertThatThrownBy(() -> new EventTimeWindow(Duration.ofDays(3), Duration.ofDays(4)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("billing grace");
    }
}

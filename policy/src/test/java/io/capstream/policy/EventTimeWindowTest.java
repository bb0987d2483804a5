package io.capstream.policy;

import io.capstream.policy.booking.EventTimeWindow;

import static org.assertj.core.api.Assertions.assertThat;

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
}

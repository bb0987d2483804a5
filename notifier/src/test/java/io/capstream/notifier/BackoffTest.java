package io.capstream.notifier;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.SplittableRandom;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class BackoffTest {
    final Backoff backoff = new Backoff(Duration.ofSeconds(1), Duration.ofMinutes(10), Duration.ofHours(24));

    @Property
    void delaysNeverShrinkAndStayWithinTheirBounds(@ForAll @IntRange(min = 1, max = 40) int attempt, @ForAll long seed) {
        SplittableRandom random = new SplittableRandom(seed);
        Duration d = backoff.delay(attempt, Optional.empty(), random);
        Duration next = backoff.delay(attempt + 1, Optional.empty(), random);
        long base = Math.min(Duration.ofMinutes(10).toMillis(), 1000L << Math.min(attempt - 1, 30));
        assertThat(d.toMillis()).isBetween(base / 2, base);
        assertThat(next).isGreaterThanOrEqualTo(d.compareTo(Duration.ofMinutes(5)) >= 0 ? Duration.ofMinutes(5) : d);
    }

    @Test
    void aLongerRetryAfterFromTheReceiverIsHonoured() {
        assertThat(backoff.delay(1, Optional.of(Duration.ofSeconds(30)), new SplittableRandom(1))).isEqualTo(Duration.ofSeconds(30));
        assertThat(backoff.delay(20, Optional.of(Duration.ofSeconds(1)), new SplittableRandom(1))).isGreaterThan(Duration.ofMinutes(4));
    }

    @Test
    void retriesStopAtTheHorizon() {
        Instant first = Instant.parse("2026-11-21T10:00:00Z");
        assertThat(backoff.allows(first, first.plus(Duration.ofHours(24)))).isTrue();
        assertThat(backoff.allows(first, first.plus(Duration.ofHours(24)).plusMillis(1))).isFalse();
    }
}

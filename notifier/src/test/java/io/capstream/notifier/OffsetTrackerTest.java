package io.capstream.notifier;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;
import org.junit.jupiter.api.Test;

class OffsetTrackerTest {
    static final TopicPartition P0 = new TopicPartition("threshold-events", 0);
    static final Instant T = Instant.parse("2026-11-21T10:00:00Z");

    @Test
    void commitsStopBeforeTheOldestRecordWithANotificationInFlight() {
        OffsetTracker offsets = new OffsetTracker();
        offsets.started(P0, 10, 2, T);             // a webhook and an email
        offsets.started(P0, 11, 0, T);             // nothing to send
        offsets.started(P0, 12, 1, T.plusSeconds(1));

        assertThat(offsets.committable()).containsEntry(P0, new OffsetAndMetadata(10));
        offsets.finished(P0, 12);
        offsets.finished(P0, 10);
        assertThat(offsets.committable()).containsEntry(P0, new OffsetAndMetadata(10)); // the email of 10 is still out
        offsets.finished(P0, 10);
        assertThat(offsets.committable()).containsEntry(P0, new OffsetAndMetadata(13));
        assertThat(offsets.inFlight()).isZero();
    }

    @Test
    void theOldestInFlightStartTellsReadinessWhenCommitsStall() {
        OffsetTracker offsets = new OffsetTracker();
        assertThat(offsets.oldestStart()).isEmpty();
        offsets.started(P0, 10, 1, T);
        offsets.started(P0, 11, 1, T.plusSeconds(60));
        assertThat(offsets.oldestStart()).contains(T);
        offsets.finished(P0, 10);
        assertThat(offsets.oldestStart()).contains(T.plusSeconds(60));
        offsets.forget(P0);
        assertThat(offsets.oldestStart()).isEmpty();
        assertThat(offsets.inFlight()).isZero();
    }
}

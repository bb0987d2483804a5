package io.capstream.notifier;

import java.time.Duration;
import java.util.Optional;

/** How one delivery attempt ended: delivered, worth retrying (perhaps after a time the receiver asked for), or refused for good. */
public sealed interface Outcome {
    Optional<Integer> httpStatus();

    record Delivered(Optional<Integer> httpStatus) implements Outcome {}

    record Retry(String reason, Optional<Duration> retryAfter, Optional<Integer> httpStatus) implements Outcome {}

    record Refused(String reason, Optional<Integer> httpStatus) implements Outcome {}
}

package io.capstream.notifier;

import io.capstream.schemas.ThresholdCrossed;
import java.time.Instant;
import java.util.function.Supplier;

/**
 * One notification to one channel of one customer, with its attempts so far.
 *
 * @param send makes one attempt
 */
record Delivery(ThresholdCrossed event, String channel, String destination, Supplier<Outcome> send, Instant firstAttempt, int attempts) {
    Delivery next() {
        return new Delivery(event, channel, destination, send, firstAttempt, attempts + 1);
    }
}

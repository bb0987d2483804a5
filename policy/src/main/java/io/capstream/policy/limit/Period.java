package io.capstream.policy.limit;

import java.time.Instant;

/** A half-open interval of time [start, end): it contains its start and not its end. */
public record Period(Instant start, Instant end) {
    public Period {
        if (!end.isAfter(start)) {
            throw new IllegalArgumentException("a period must end after it starts: " + start + " .. " + end);
        }
    }

    public boolean contains(Instant t) {
        return !t.isBefore(start) && t.isBefore(end);
    }
}

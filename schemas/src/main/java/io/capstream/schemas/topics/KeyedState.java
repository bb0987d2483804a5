package io.capstream.schemas.topics;

import java.time.Instant;
import java.util.Optional;

/** The latest value per key of a compacted topic, as a reader sees it ({@link TopicView} is the Kafka-backed one). */
public interface KeyedState<V> {
    Optional<V> get(String key);

    /** Whether everything the topic held when the reader started has been read. */
    boolean caughtUp();

    /** When the reader last knew itself connected to the brokers: how fresh its values can be. */
    Instant lastHeard();
}

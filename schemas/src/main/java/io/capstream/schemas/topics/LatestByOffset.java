package io.capstream.schemas.topics;

import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The latest value per key by offset: a value written at an older offset never replaces one at a
 * newer offset, whichever arrives first. This is what keeps a process's own write (remembered at
 * once with the broker's offset) from being undone by an older record its reader sees later: the
 * lost-update guard of the control API. Thread-safe.
 */
final class LatestByOffset<V> {
    /** The value wrapped once when it arrives: the hot path reads it many times a second and allocates nothing. */
    private record Entry<V>(Optional<V> value, long offset) {}

    private final Map<String, Entry<V>> values = new ConcurrentHashMap<>();

    /** {@code value} (null: deleted) at {@code offset}, unless a newer offset is known for the key. */
    void apply(String key, V value, long offset) {
        values.compute(key, (k, current) -> current != null && current.offset() > offset ? current
                : value == null ? null : new Entry<>(Optional.of(value), offset));
    }

    Optional<V> get(String key) {
        Entry<V> entry = values.get(key);
        return entry == null ? Optional.empty() : entry.value();
    }

    /** The offset of the key's latest value, or -1 when none is known. */
    long offset(String key) {
        Entry<V> entry = values.get(key);
        return entry == null ? -1 : entry.offset();
    }

    /** Every current value (a copy). */
    java.util.List<V> values() {
        return values.values().stream().map(e -> e.value().orElseThrow()).toList();
    }

    int size() {
        return values.size();
    }
}

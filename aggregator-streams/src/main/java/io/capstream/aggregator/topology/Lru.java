package io.capstream.aggregator.topology;

import java.util.LinkedHashMap;
import java.util.Map;

/** A map that keeps at most {@code max} entries, dropping the least recently used: the bound of every per-task cache here. */
final class Lru {
    private Lru() {}

    static <K, V> Map<K, V> of(int max) {
        return new LinkedHashMap<>(1024, 0.75f, true) {
            @Override
            protected boolean removeEldestEntry(Map.Entry<K, V> eldest) {
                return size() > max;
            }
        };
    }
}

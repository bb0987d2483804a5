package io.capstream.notifier;

import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.TopicPartition;

/**
 * Which offsets may be committed: per partition, up to (not including) the oldest record whose
 * notifications are not all delivered or dead-lettered. Thread-safe.
 */
final class OffsetTracker {
    private final Map<TopicPartition, TreeMap<Long, Integer>> pending = new HashMap<>();
    private final Map<TopicPartition, Long> highest = new HashMap<>();
    private final Map<TopicPartition, TreeMap<Long, java.time.Instant>> startedAt = new HashMap<>();
    private int inFlight;

    /** A record was read at {@code at} whose notifications number {@code deliveries} (0 for none). */
    synchronized void started(TopicPartition tp, long offset, int deliveries, java.time.Instant at) {
        highest.merge(tp, offset, Math::max);
        if (deliveries > 0) {
            pending.computeIfAbsent(tp, k -> new TreeMap<>()).put(offset, deliveries);
            startedAt.computeIfAbsent(tp, k -> new TreeMap<>()).put(offset, at);
            inFlight += deliveries;
        }
    }

    /** When the oldest record still in flight was read, if any is. */
    synchronized java.util.Optional<java.time.Instant> oldestStart() {
        return startedAt.values().stream().filter(m -> !m.isEmpty()).map(m -> m.firstEntry().getValue()).min(java.time.Instant::compareTo);
    }

    /** One of the record's notifications was delivered or dead-lettered. */
    synchronized void finished(TopicPartition tp, long offset) {
        TreeMap<Long, Integer> offsets = pending.get(tp);
        if (offsets == null || !offsets.containsKey(offset)) {
            return; // the partition was revoked meanwhile
        }
        inFlight--;
        if (offsets.merge(offset, -1, Integer::sum) == 0) {
            offsets.remove(offset);
            startedAt.get(tp).remove(offset);
        }
    }

    synchronized Map<TopicPartition, OffsetAndMetadata> committable() {
        Map<TopicPartition, OffsetAndMetadata> result = new HashMap<>();
        highest.forEach((tp, high) -> {
            TreeMap<Long, Integer> offsets = pending.get(tp);
            long next = offsets == null || offsets.isEmpty() ? high + 1 : offsets.firstKey();
            result.put(tp, new OffsetAndMetadata(next));
        });
        return result;
    }

    synchronized int inFlight() {
        return inFlight;
    }

    synchronized void forget(TopicPartition tp) {
        TreeMap<Long, Integer> offsets = pending.remove(tp);
        startedAt.remove(tp);
        if (offsets != null) {
            inFlight -= offsets.values().stream().mapToInt(Integer::intValue).sum();
        }
        highest.remove(tp);
    }
}

package io.capstream.aggregator.topology;

import io.capstream.schemas.AuditEntry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps each customer's audit trail ({@code audit-log}, written by the control API with every change) in
 * {@code audit-history-store}, keyed {@code customer|time|id} so one customer's entries are one prefix
 * scan in time order. The topic is keyed by customer and co-partitioned with the customers, so the task
 * that owns a customer's usage owns its history too.
 */
public final class AuditHistoryProcessor extends ContextualProcessor<String, AuditEntry, Void, Void> {
    private KeyValueStore<String, AuditEntry> store;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        super.init(context);
        store = context.getStateStore(UsageTopology.AUDIT_STORE);
    }

    @Override
    public void process(Record<String, AuditEntry> record) {
        AuditEntry e = record.value();
        if (e == null || record.key() == null) {
            return;
        }
        store.put(key(record.key(), e.getAt(), e.getId()), e);
    }

    /** {@code customer|0001795446390000|id}: zero-padded milliseconds, so keys sort by time. */
    static String key(String customer, Instant at, String id) {
        return customer + '|' + String.format("%016d", at.toEpochMilli()) + '|' + id;
    }

    /**
     * The customer's newest {@code limit} entries that {@code shown} accepts, newest first, reading at most {@code scanned}
     * entries (a reverse range scan: the cost of a request is bounded, however long the history).
     */
    public static List<AuditEntry> history(ReadOnlyKeyValueStore<String, AuditEntry> store, String customer, int limit, int scanned,
                                           java.util.function.Predicate<AuditEntry> shown) {
        List<AuditEntry> newest = new ArrayList<>();
        int read = 0;
        try (KeyValueIterator<String, AuditEntry> it = store.reverseRange(customer + '|', customer + "|\uffff")) {
            while (it.hasNext() && newest.size() < limit && read++ < scanned) {
                AuditEntry e = it.next().value;
                if (shown.test(e)) {
                    newest.add(e);
                }
            }
        }
        return newest;
    }
}

package io.capstream.aggregator.topology;

import io.capstream.aggregator.strict.ReservationBook;
import io.capstream.schemas.ReservationHold;
import io.capstream.schemas.ReservationRecord;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps the open strict-mode reservations of a task's customers in a changelogged store, from the
 * {@code reservations} topic the owning instance writes each reservation to before it answers. When
 * the task starts on an instance (the first time, after a crash, or after its partition moved), that
 * instance's {@link ReservationBook} starts from the store; reservations made by the previous owner
 * and not yet in the store arrive through the topic like any other. A booked event settles its
 * reservation ({@link #settle}, from {@code account}); expired ones are dropped once a minute.
 */
final class ReservationProcessor extends ContextualProcessor<String, ReservationRecord, Void, Void> {
    static final Duration EXPIRY_CHECK_INTERVAL = Duration.ofMinutes(1);
    private final ReservationBook book;
    private KeyValueStore<String, ReservationRecord> open;
    private int partition;

    ReservationProcessor(ReservationBook book) {
        this.book = book;
    }

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        super.init(context);
        open = context.getStateStore(UsageTopology.RESERVATIONS_STORE);
        partition = context.taskId().partition();
        List<ReservationBook.Open> kept = new ArrayList<>();
        try (KeyValueIterator<String, ReservationRecord> all = open.all()) {
            all.forEachRemaining(kv -> kept.add(toOpen(kv.value)));
        }
        book.restorePartition(partition, kept);
        context.schedule(EXPIRY_CHECK_INTERVAL, PunctuationType.WALL_CLOCK_TIME, now -> expire(Instant.ofEpochMilli(now)));
    }

    @Override
    public void process(Record<String, ReservationRecord> record) {
        ReservationRecord r = record.value();
        if (r == null || !r.getCustomer().equals(record.key())) {
            return; // not written by an aggregator: a reservation is keyed by its customer
        }
        if (r.getReleased()) {
            open.delete(r.getId());
            book.release(r.getCustomer(), partition, r.getId());
        } else {
            open.put(r.getId(), r);
            book.restore(partition, toOpen(r));
        }
    }

    /** The reservation's usage was booked and its total written: it holds nothing any more. */
    static void settle(KeyValueStore<String, ReservationRecord> open, ReservationBook book, String customer, String id) {
        ReservationRecord r = open.get(id);
        if (r != null && r.getCustomer().equals(customer)) {
            open.delete(id);
        }
        book.settle(customer, id);
    }

    private void expire(Instant now) {
        List<String> expired = new ArrayList<>();
        try (KeyValueIterator<String, ReservationRecord> all = open.all()) {
            while (all.hasNext()) {
                KeyValue<String, ReservationRecord> kv = all.next();
                if (!kv.value.getExpiresAt().isAfter(now)) {
                    expired.add(kv.key);
                }
            }
        }
        expired.forEach(open::delete);
    }

    static ReservationBook.Open toOpen(ReservationRecord r) {
        Map<String, BigDecimal> holds = new HashMap<>();
        for (ReservationHold h : r.getHolds()) {
            holds.merge(h.getLimitKey(), h.getAmount(), BigDecimal::add);
        }
        return new ReservationBook.Open(r.getId(), r.getCustomer(), holds, r.getExpiresAt());
    }
}

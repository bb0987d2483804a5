package io.capstream.aggregator.topology;

import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.aggregator.strict.ReservationBook;
import io.capstream.schemas.ReservationRecord;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.processor.internals.InternalProcessorContext;
import org.apache.kafka.streams.processor.internals.ProcessorNode;
import org.apache.kafka.streams.processor.internals.ProcessorRecordContext;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Applies each unique priced event, and each customer's new configuration, to the task's
 * {@link Ledger} and emits what changed: threshold crossings at once, running totals when the
 * {@link TotalsStore} writes them (once per changed total per commit), and (on a stream-time
 * punctuation) the final totals of closed periods.
 */
final class AccountProcessor extends ContextualProcessor<String, LedgerInput, String, SpecificRecord> {
    static final Duration CLOSE_CHECK_INTERVAL = Duration.ofMinutes(1);
    static final Duration ROLLUP_INTERVAL = Duration.ofMinutes(5);
    static final Duration RUNAWAY_CHECK_INTERVAL = Duration.ofSeconds(30);
    private final EventTimeWindow window;
    private final ReservationBook reservations;
    private KeyValueStore<String, ReservationRecord> openReservations;
    private final PolicyCache policies;
    private Ledger ledger;
    private DedupStore seen;
    private InternalProcessorContext<String, SpecificRecord> internal;
    private ProcessorNode<?, ?, ?, ?> node;
    /**
     * Reservations of events booked since the totals were last written (customer, reservation id). Lost
     * with a crash together with the uncommitted bookings: the events are booked again, and a reservation
     * that is not settled expires with its hold, which errs on the side of refusing.
     */
    private final List<Map.Entry<String, String>> booked = new ArrayList<>();

    private final boolean series;

    private final EventArchive.Opener archives;
    private EventArchive archive;

    AccountProcessor(EventTimeWindow window, PolicyCache policies, ReservationBook reservations, boolean series, EventArchive.Opener archives) {
        this.archives = archives;
        this.series = series;
        this.window = window;
        this.policies = policies;
        this.reservations = reservations;
    }

    @Override
    @SuppressWarnings("unchecked")
    public void init(ProcessorContext<String, SpecificRecord> context) {
        super.init(context);
        // the totals are written when the task commits, outside any processor: their records are then
        // forwarded from this node, as Kafka Streams' own cache flush listeners do
        internal = (InternalProcessorContext<String, SpecificRecord>) context;
        node = internal.currentNode();
        booked.clear();
        TotalsStore totals = context.getStateStore(UsageTopology.LIMITS_STORE);
        totals.open(this::settleBooked);
        ledger = UsageTopology.ledger(context, window, policies, series);
        seen = context.getStateStore(UsageTopology.DEDUP_STORE);
        openReservations = context.getStateStore(UsageTopology.RESERVATIONS_STORE);
        context.schedule(CLOSE_CHECK_INTERVAL, PunctuationType.STREAM_TIME,
                streamTime -> forward(ledger.closePeriods(streamTime), streamTime));
        // wall-clock time: a breaker closes after its cool-down whether or not events come
        context.schedule(RUNAWAY_CHECK_INTERVAL, PunctuationType.WALL_CLOCK_TIME, now -> forward(ledger.closeRunaway(Instant.ofEpochMilli(now)), now));
        if (series) {
            // wall-clock time: a partition without new events still rolls its ended days up before its hours expire
            context.schedule(ROLLUP_INTERVAL, PunctuationType.WALL_CLOCK_TIME, now -> ledger.rollUpSeries(Instant.ofEpochMilli(now)));
        }
    }

    @Override
    public void process(Record<String, LedgerInput> record) {
        switch (record.value()) {
            case PricedEvent priced -> book(priced, record.timestamp());
            case LedgerInput.CustomerChanged changed -> forward(ledger.reconfigure(changed, record.timestamp()), record.timestamp());
        }
    }

    private void book(PricedEvent priced, long timestamp) {
        if (priced.event().getAmendment() != null) {
            amend(priced, timestamp);
            return;
        }
        List<Ledger.Output> crossings = ledger.account(priced, context().currentStreamTimeMs(), timestamp);
        // only now: a refused event keeps its id; remembered with where it is and what it cost, for an amendment
        DedupProcessor.remember(seen, DedupProcessor.identity(priced.event()), version(priced), timestamp, window.dedupWindow());
        forward(crossings, timestamp);
        String reservation = priced.event().getReservationId();
        if (reservation != null) {
            // the estimate no longer holds once the real usage is in the totals that reservations are checked
            // against: when the totals store writes it (settleBooked), not before, or a strict cap could overshoot
            booked.add(Map.entry(priced.event().getCustomer(), reservation));
        }
    }

    /**
     * Applies a void or a replacement to the event (customer, source, id) booked before: reads the version in force from
     * usage-events, takes it back and books the replacement (one change of the totals, whole or not at all), then remembers
     * the replacement (or that the event is void) in place of the event, and the amendment's own identity.
     */
    private void amend(PricedEvent amendment, long timestamp) {
        io.capstream.schemas.UsageEvent event = amendment.event();
        Bytes identity = DedupProcessor.identity(event);
        DedupProcessor.Found found = DedupProcessor.find(seen, identity, timestamp, window.dedupWindow());
        String what = "event '" + event.getId() + "' from source '" + event.getSource() + "' of customer " + event.getCustomer();
        if (found == null) {
            throw new RejectedEventException("id", "no " + what + " was booked within the dedup window (" + window.dedupWindow()
                    + "); nothing to " + event.getAmendment());
        }
        if (found.voided()) {
            throw new RejectedEventException("id", "the " + what + " was voided already; nothing to " + event.getAmendment());
        }
        DedupProcessor.Version inForce = DedupProcessor.Version.of(found.value());
        if (inForce == null) {
            throw new RejectedEventException("id", "the " + what + " was booked before amendments were possible; it cannot be amended");
        }
        int partition = context().recordMetadata().orElseThrow().partition();
        if (archive == null) {
            archive = archives.open(context().appConfigs(), context().taskId().toString());
        }
        PricedEvent booked = new PricedEvent(archive.read(partition, inForce.offset()), inForce.cost());
        boolean replace = DedupProcessor.REPLACE.equals(event.getAmendment());
        Bytes key = DedupProcessor.key(event, replace ? inForce.offset() : DedupProcessor.NONE);
        if (replace && DedupProcessor.sameContent(booked.event(), event)) { // replaced by itself (a retry): nothing changes
            DedupProcessor.remember(seen, key, DedupProcessor.PRESENT, timestamp, window.dedupWindow());
            return;
        }
        List<Ledger.Output> out = ledger.amend(booked, replace ? amendment : null, event, context().currentStreamTimeMs(), timestamp);
        seen.put(identity, replace ? version(amendment) : DedupProcessor.Version.VOIDED, found.bucket());
        DedupProcessor.remember(seen, key, DedupProcessor.PRESENT, timestamp, window.dedupWindow());
        forward(out, timestamp);
    }

    /** Where the record being processed is in usage-events, and what it was booked at. */
    private byte[] version(PricedEvent priced) {
        return new DedupProcessor.Version(context().recordMetadata().orElseThrow().offset(), priced.cost()).bytes();
    }

    @Override
    public void close() {
        if (archive != null) {
            archive.close();
            archive = null;
        }
    }

    /** Settles the reservations of booked events (only the customer's own reservation). */
    private void settleBooked() {
        if (!booked.isEmpty()) {
            asThisNode(context().currentSystemTimeMs(), () -> booked.forEach(b ->
                    ReservationProcessor.settle(openReservations, reservations, b.getKey(), b.getValue())));
            booked.clear();
        }
    }

    private void forward(List<Ledger.Output> outputs, long timestamp) {
        for (Ledger.Output o : outputs) {
            context().forward(new Record<>(o.key(), o.value(), timestamp), o.sink());
        }
    }

    /**
     * Runs {@code work} (a forward, a store write) as this node with a record context, also when the totals are
     * written at a commit, outside any processing (as Kafka Streams' own cache flush listeners do).
     */
    private void asThisNode(long timestamp, Runnable work) {
        ProcessorNode<?, ?, ?, ?> previousNode = internal.currentNode();
        ProcessorRecordContext previousContext = internal.recordContext();
        internal.setCurrentNode(node);
        if (previousContext == null) {
            internal.setRecordContext(new ProcessorRecordContext(timestamp, -1L, -1, null, new RecordHeaders()));
        }
        try {
            work.run();
        } finally {
            internal.setCurrentNode(previousNode);
            internal.setRecordContext(previousContext);
        }
    }
}

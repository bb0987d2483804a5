package io.capstream.aggregator.topology;

import io.capstream.policy.booking.EventTimeWindow;
import java.time.Duration;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Applies each unique priced event, and each customer's new configuration, to the task's
 * {@link Ledger} and emits what changed: running totals, threshold crossings, and (on a stream-time
 * punctuation) the final totals of closed periods.
 */
final class AccountProcessor extends ContextualProcessor<String, LedgerInput, String, SpecificRecord> {
    static final Duration CLOSE_CHECK_INTERVAL = Duration.ofMinutes(1);
    private final EventTimeWindow window;
    private final java.util.function.BiConsumer<String, String> settle;
    private Ledger ledger;
    private org.apache.kafka.streams.state.WindowStore<String, Long> seen;

    private final PolicyCache policies;

    AccountProcessor(EventTimeWindow window, PolicyCache policies, java.util.function.BiConsumer<String, String> settle) {
        this.window = window;
        this.policies = policies;
        this.settle = settle;
    }

    @Override
    public void init(ProcessorContext<String, SpecificRecord> context) {
        super.init(context);
        ledger = UsageTopology.ledger(context, window, policies);
        seen = context.getStateStore(UsageTopology.DEDUP_STORE);
        context.schedule(CLOSE_CHECK_INTERVAL, PunctuationType.STREAM_TIME,
                streamTime -> forward(ledger.closePeriods(streamTime), streamTime));
    }

    @Override
    public void process(Record<String, LedgerInput> record) {
        switch (record.value()) {
            case PricedEvent priced -> book(priced, record.timestamp());
            case LedgerInput.CustomerChanged changed -> forward(ledger.reconfigure(changed.record(), changed.at()), record.timestamp());
        }
    }

    private void book(PricedEvent priced, long timestamp) {
        java.util.List<Ledger.Output> booked = ledger.account(priced, context().currentStreamTimeMs());
        DedupProcessor.remember(seen, priced.event(), timestamp); // only now: a refused event keeps its id
        forward(booked, timestamp);
        String reservation = priced.event().getReservationId();
        if (reservation != null) {
            // the real usage is in the totals now: the estimate no longer holds (only the customer's own reservation)
            settle.accept(priced.event().getCustomer(), reservation);
        }
    }

    private void forward(java.util.List<Ledger.Output> outputs, long timestamp) {
        for (Ledger.Output o : outputs) {
            context().forward(new Record<>(o.key(), o.value(), timestamp), o.sink());
        }
    }
}

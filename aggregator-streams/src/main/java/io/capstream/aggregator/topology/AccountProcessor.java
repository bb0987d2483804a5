package io.capstream.aggregator.topology;

import io.capstream.policy.EventTimeWindow;
import java.time.Duration;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.processor.PunctuationType;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Books each unique priced event in the customer's {@link Ledger} and emits what changed: running
 * totals, threshold crossings, and (on a stream-time punctuation) the final totals of closed periods.
 */
final class AccountProcessor extends ContextualProcessor<String, PricedEvent, String, SpecificRecord> {
    static final Duration CLOSE_CHECK_INTERVAL = Duration.ofMinutes(1);
    private final EventTimeWindow window;
    private final java.util.function.BiConsumer<String, String> settle;
    private Ledger ledger;
    private org.apache.kafka.streams.state.WindowStore<String, Long> seen;

    AccountProcessor(EventTimeWindow window, java.util.function.BiConsumer<String, String> settle) {
        this.window = window;
        this.settle = settle;
    }

    @Override
    public void init(ProcessorContext<String, SpecificRecord> context) {
        super.init(context);
        ledger = UsageTopology.ledger(context, window);
        seen = context.getStateStore(UsageTopology.DEDUP_STORE);
        context.schedule(CLOSE_CHECK_INTERVAL, PunctuationType.STREAM_TIME,
                streamTime -> forward(ledger.closePeriods(streamTime), streamTime));
    }

    @Override
    public void process(Record<String, PricedEvent> record) {
        java.util.List<Ledger.Output> booked = ledger.account(record.value(), context().currentStreamTimeMs());
        DedupProcessor.remember(seen, record.value().event(), record.timestamp()); // only now: a refused event keeps its id
        forward(booked, record.timestamp());
        String reservation = record.value().event().getReservationId();
        if (reservation != null) {
            // the real usage is in the totals now: the estimate no longer holds (only the customer's own reservation)
            settle.accept(record.value().event().getCustomer(), reservation);
        }
    }

    private void forward(java.util.List<Ledger.Output> outputs, long timestamp) {
        for (Ledger.Output o : outputs) {
            context().forward(new Record<>(o.key(), o.value(), timestamp), o.sink());
        }
    }
}

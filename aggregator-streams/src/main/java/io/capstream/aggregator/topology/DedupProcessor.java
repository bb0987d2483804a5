package io.capstream.aggregator.topology;

import io.capstream.schemas.UsageEvent;
import java.time.Duration;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.WindowStoreIterator;

/**
 * Passes each event identity (customer, source, id) once within the dedup window. Identities live in
 * a window store whose retention drops them after the window; the store is changelogged and
 * committed with the totals (exactly-once), so a crash neither forgets nor double-counts an event. An
 * identity is recorded only once the event was booked.
 */
final class DedupProcessor extends ContextualProcessor<String, PricedEvent, String, PricedEvent> {
    private final String storeName;
    private final Duration window;
    private WindowStore<String, Long> seen;

    DedupProcessor(String storeName, Duration window) {
        this.storeName = storeName;
        this.window = window;
    }

    @Override
    public void init(ProcessorContext<String, PricedEvent> context) {
        super.init(context);
        seen = context.getStateStore(storeName);
    }

    @Override
    public void process(Record<String, PricedEvent> record) {
        String identity = identity(record.value().event());
        long at = record.timestamp();
        try (WindowStoreIterator<Long> earlier = seen.fetch(identity, at - window.toMillis(), at + window.toMillis())) {
            if (earlier.hasNext()) {
                return;
            }
        }
        // forward first: if booking refuses the event (an exception, to the dead-letter handler), the id is
        // not recorded, so the sender's corrected resend is booked
        context().forward(record);
        seen.put(identity, at, at);
    }

    /** Unambiguous even when source or id contain separators: the source is length-prefixed. */
    static String identity(UsageEvent event) {
        return event.getCustomer() + '|' + event.getSource().length() + ':' + event.getSource() + '|' + event.getId();
    }
}

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
 * committed with the totals (exactly-once), so a crash neither forgets nor double-counts an event.
 *
 * <p>An identity is remembered by {@link AccountProcessor} once the event was booked ({@link #remember}),
 * not here: an event that booking refuses goes to the dead-letter topic without using up its id, so the
 * sender's corrected resend is booked. (The processing exception handler resumes at the node that
 * failed, so this processor cannot tell from {@code forward} whether booking succeeded.)
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
        if (!isDuplicate(seen, record.value().event(), record.timestamp(), window)) {
            context().forward(record);
        }
    }

    static boolean isDuplicate(WindowStore<String, Long> seen, UsageEvent event, long at, Duration window) {
        try (WindowStoreIterator<Long> earlier = seen.fetch(identity(event), at - window.toMillis(), at + window.toMillis())) {
            return earlier.hasNext();
        }
    }

    static void remember(WindowStore<String, Long> seen, UsageEvent event, long at) {
        seen.put(identity(event), at, at);
    }

    /** Unambiguous even when source or id contain separators: the source is length-prefixed. */
    static String identity(UsageEvent event) {
        return event.getCustomer() + '|' + event.getSource().length() + ':' + event.getSource() + '|' + event.getId();
    }
}

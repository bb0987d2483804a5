package io.capstream.aggregator.topology;

import io.capstream.schemas.UsageEvent;
import java.time.Duration;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.WindowStore;

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

    /**
     * Whether the identity was remembered within {@code window} of {@code at}. Identities are kept at
     * the start of a bucket one window wide ({@link #remember}), so this is three point lookups (each
     * answered by RocksDB's bloom filters when the id is new, the common case) instead of a range scan
     * over the store's segments.
     */
    static boolean isDuplicate(WindowStore<String, Long> seen, UsageEvent event, long at, Duration window) {
        String identity = identity(event);
        long width = window.toMillis();
        for (long bucket = bucket(at - width, width); bucket <= at + width; bucket += width) {
            if (seen.fetch(identity, bucket) != null) {
                return true;
            }
        }
        return false;
    }

    /**
     * Remembers the identity at the start of the bucket of {@code at}; the store keeps it for two windows
     * from there, longer than any retry within a window of {@code at} can come.
     */
    static void remember(WindowStore<String, Long> seen, UsageEvent event, long at, Duration window) {
        seen.put(identity(event), at, bucket(at, window.toMillis()));
    }

    /**
     * How long the store keeps an identity after the start of its bucket: the bucket and a window after
     * it, and an hour for record timestamps out of order (stream time may be ahead of a record's).
     */
    static Duration retention(Duration window) {
        return window.multipliedBy(2).plus(Duration.ofHours(1));
    }

    private static long bucket(long at, long width) {
        return Math.floorDiv(at, width) * width;
    }

    /** Unambiguous even when source or id contain separators: the source is length-prefixed. */
    static String identity(UsageEvent event) {
        return event.getCustomer() + '|' + event.getSource().length() + ':' + event.getSource() + '|' + event.getId();
    }
}

package io.capstream.aggregator.topology;

import io.capstream.schemas.UsageEvent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.state.WindowStore;
import org.apache.kafka.streams.state.internals.Murmur3;
import org.apache.kafka.streams.state.internals.RocksDbWindowBytesStoreSupplier;

/**
 * Passes each event identity (customer, source, id) once within the dedup window. Identities live in
 * a window store whose retention drops them after the window; the store is changelogged and
 * committed with the totals (exactly-once), so a crash neither forgets nor double-counts an event.
 *
 * <p>An identity is kept as 16 bytes (its 128-bit Murmur3 hash) and nothing else, so a window of 35 days
 * costs a bounded, measured amount per event (docs/performance.md, "Dedup for 35 days"): two different
 * identities of one partition share a hash with a probability of about n²/2¹²⁹ for n identities held
 * (below 10⁻¹⁸ for 10¹⁰), far below any other cause of a lost event.
 *
 * <p>An identity is remembered by {@link AccountProcessor} once the event was booked ({@link #remember}),
 * not here: an event that booking refuses goes to the dead-letter topic without using up its id, so the
 * sender's corrected resend is booked. (The processing exception handler resumes at the node that
 * failed, so this processor cannot tell from {@code forward} whether booking succeeded.)
 */
final class DedupProcessor extends ContextualProcessor<String, PricedEvent, String, PricedEvent> {
    /** What an identity is kept with: nothing (its bucket is the window store's timestamp). */
    private static final byte[] PRESENT = new byte[0];
    /**
     * Record timestamps of a partition (ingest's receive times) out of order by at most this much: a copy
     * received earlier than the one remembered is still found.
     */
    static final Duration DISORDER = Duration.ofHours(1);
    /** Buckets per dedup window: more buckets keep fewer stale ids but cost more lookups per event. */
    private static final int BUCKETS_PER_WINDOW = 4;

    private final String storeName;
    private final Duration window;
    private WindowStore<Bytes, byte[]> seen;

    DedupProcessor(String storeName, Duration window) {
        this.storeName = storeName;
        this.window = window;
    }

    /**
     * The store: RocksDB segments one bucket wide, so a whole bucket is dropped at once when it expires
     * and the store holds at most the retention plus one bucket of ids (1.5 windows and an hour).
     */
    static StoreBuilder<WindowStore<Bytes, byte[]>> store(String name, Duration window) {
        return Stores.windowStoreBuilder(new RocksDbWindowBytesStoreSupplier(name, retention(window).toMillis(), width(window), 1, false,
                RocksDbWindowBytesStoreSupplier.WindowStoreTypes.DEFAULT_WINDOW_STORE), Serdes.Bytes(), Serdes.ByteArray());
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
     * Whether the identity was remembered within {@code window} before {@code at} (or up to {@link #DISORDER}
     * after it). Identities are kept at the start of their bucket ({@link #remember}), so this is one point
     * lookup per bucket, at most six (each answered by RocksDB's bloom filters when the id is new, the common
     * case), instead of a range scan over the store's segments.
     */
    static boolean isDuplicate(WindowStore<Bytes, byte[]> seen, UsageEvent event, long at, Duration window) {
        Bytes identity = identity(event);
        long width = width(window);
        long last = at + DISORDER.toMillis();
        for (long bucket = bucket(at - window.toMillis(), width); bucket <= last; bucket += width) {
            if (seen.fetch(identity, bucket) != null) {
                return true;
            }
        }
        return false;
    }

    /** Remembers the identity at the start of the bucket of {@code at}. */
    static void remember(WindowStore<Bytes, byte[]> seen, UsageEvent event, long at, Duration window) {
        seen.put(identity(event), PRESENT, bucket(at, width(window)));
    }

    /**
     * How long the store keeps an identity after the start of its bucket: until no copy within a window
     * can look in that bucket (a window and a bucket), and {@link #DISORDER} more, as stream time may be
     * ahead of a record's timestamp.
     */
    static Duration retention(Duration window) {
        return window.plusMillis(width(window)).plus(DISORDER);
    }

    private static long width(Duration window) {
        return Math.max(1, window.toMillis() / BUCKETS_PER_WINDOW);
    }

    private static long bucket(long at, long width) {
        return Math.floorDiv(at, width) * width;
    }

    /**
     * The identity's 128-bit Murmur3 hash: unambiguous input (the source is length-prefixed, so separators
     * inside source or id cannot make two identities one), a fixed 16-byte key.
     */
    static Bytes identity(UsageEvent event) {
        String source = event.getSource();
        byte[] text = (event.getCustomer() + '|' + source.length() + ':' + source + '|' + event.getId()).getBytes(StandardCharsets.UTF_8);
        long[] hash = Murmur3.hash128(text);
        return Bytes.wrap(ByteBuffer.allocate(16).putLong(hash[0]).putLong(hash[1]).array());
    }
}

package io.capstream.aggregator.topology;

import io.capstream.policy.input.KeyParts;
import io.capstream.schemas.UsageEvent;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.internals.Murmur3;

/**
 * Passes each event identity (customer, source, id) once within the dedup window. Identities live in
 * {@link DedupStore}, in buckets dropped whole after the window; the identities of a commit are logged as one
 * changelog record in the transaction that commits the totals (exactly-once), so a crash neither forgets nor
 * double-counts an event.
 *
 * <p>An identity is kept as 16 bytes (its 128-bit Murmur3 hash) with where the version of the event in force is
 * ({@link Version}: its offset in usage-events and its booked cost, about 8 bytes), so a window of 35 days costs
 * a bounded, measured amount per event (docs/performance.md, "Dedup for 35 days") and an amendment (a void or a
 * replacement) can take the event back exactly as it was booked, reading it from usage-events. Two different
 * identities of one partition share a hash with a probability of about n²/2¹²⁹ for n identities held
 * (below 10⁻¹⁸ for 10¹⁰), far below any other cause of a lost event.
 *
 * <p>An identity is remembered by {@link AccountProcessor} once the event was booked ({@link #remember}),
 * not here: an event that booking refuses goes to the dead-letter topic without using up its id, so the
 * sender's corrected resend is booked. (The processing exception handler resumes at the node that
 * failed, so this processor cannot tell from {@code forward} whether booking succeeded.)
 */
final class DedupProcessor extends ContextualProcessor<String, PricedEvent, String, PricedEvent> {
    /** What an amendment's own identity is kept with: nothing (its bucket is part of the key). */
    static final byte[] PRESENT = new byte[0];
    /**
     * Record timestamps of a partition (ingest's receive times) out of order by at most this much: a copy
     * received earlier than the one remembered is still found.
     */
    static final Duration DISORDER = Duration.ofHours(1);
    /** Buckets per dedup window: more buckets keep fewer stale ids but cost more lookups per event. */
    private static final int BUCKETS_PER_WINDOW = 4;

    private final String storeName;
    private final Duration window;
    private DedupStore seen;

    DedupProcessor(String storeName, Duration window) {
        this.storeName = storeName;
        this.window = window;
    }

    /**
     * The store ({@link DedupStore}): a whole bucket is dropped at once when it expires, so it holds at most the retention
     * plus one bucket of ids (1.5 windows and an hour); one changelog record per commit.
     */
    static StoreBuilder<DedupStore> store(String name, Duration window) {
        return DedupStore.builder(name, retention(window).toMillis(), width(window));
    }

    @Override
    public void init(ProcessorContext<String, PricedEvent> context) {
        super.init(context);
        seen = context.getStateStore(storeName);
    }

    @Override
    public void process(Record<String, PricedEvent> record) {
        UsageEvent event = record.value().event();
        long replaced = REPLACE.equals(event.getAmendment()) ? inForce(seen, event, record.timestamp(), window) : NONE;
        if (!isDuplicate(seen, key(event, replaced), record.timestamp(), window)) {
            context().forward(record);
        }
    }

    static final String REPLACE = "replace";
    /** No version in force (nothing booked, or voided): what {@link #inForce} says then. */
    static final long NONE = -1;

    /** Where the version of the event in force is in usage-events (its offset), or {@link #NONE}. */
    static long inForce(DedupStore seen, UsageEvent event, long at, Duration window) {
        Found found = find(seen, identity(event), at, window);
        Version version = found == null ? null : Version.of(found.value());
        return version == null ? NONE : version.offset();
    }

    /**
     * Where the version of an event in force is, and what it was booked at: its offset in usage-events (in the partition of
     * its customer) and its cost; or that it was voided.
     */
    record Version(long offset, java.math.BigDecimal cost) {
        static final byte[] VOIDED = {0};

        /** The offset as a varint (an offset below 2³⁵ in 5 bytes), the cost's scale (1 byte) and its unscaled value. */
        byte[] bytes() {
            byte[] unscaled = cost.unscaledValue().toByteArray();
            ByteBuffer b = ByteBuffer.allocate(10 + 1 + unscaled.length);
            for (long v = offset; ; v >>>= 7) {
                if ((v & ~0x7FL) == 0) {
                    b.put((byte) v);
                    break;
                }
                b.put((byte) ((v & 0x7F) | 0x80));
            }
            b.put((byte) cost.scale()).put(unscaled);
            return java.util.Arrays.copyOf(b.array(), b.position());
        }

        /** The version in an identity's value; null for one voided ({@link #VOIDED}) or an amendment's ({@link #PRESENT}). */
        static Version of(byte[] value) {
            if (value.length < 3) {
                return null;
            }
            ByteBuffer b = ByteBuffer.wrap(value);
            long offset = 0;
            for (int shift = 0; ; shift += 7) {
                byte next = b.get();
                offset |= (long) (next & 0x7F) << shift;
                if (next >= 0) {
                    break;
                }
            }
            int scale = b.get();
            byte[] unscaled = new byte[b.remaining()];
            b.get(unscaled);
            return new Version(offset, new java.math.BigDecimal(new java.math.BigInteger(unscaled), scale));
        }
    }

    /** An identity found in the store: its bucket (to change it in place) and its value. */
    record Found(long bucket, byte[] value) {
        boolean voided() {
            return java.util.Arrays.equals(value, Version.VOIDED);
        }
    }

    /**
     * The identity an event is deduplicated by: its own, or for an amendment the amendment's (so a retried amendment is applied
     * once). A replacement's names its content and the version it replaces ({@code replaced}, its offset; {@link #NONE} for
     * a void): replacing back and forth (A by B, by A, by B again) applies each one, where content alone would drop the
     * second B as a copy of the first; a retry of the replacement in force replaces it by itself, which changes nothing
     * ({@link #sameContent}), as a repeated HTTP PUT does.
     */
    static Bytes key(UsageEvent event, long replaced) {
        String amendment = event.getAmendment();
        if (amendment == null) {
            return identity(event);
        }
        StringBuilder text = new StringBuilder(amendment).append('|').append(identityText(event));
        if (REPLACE.equals(amendment)) {
            text.append('|').append(content(event)).append('|').append(replaced);
        }
        return hash(text.toString());
    }

    /** Whether two versions of an event say the same: feature, model, user, key, time and usage. */
    static boolean sameContent(UsageEvent a, UsageEvent b) {
        return content(a).equals(content(b));
    }

    private static String content(UsageEvent e) {
        // the user and the API key are free text: escaped, so that no two versions read alike ("a|b", "c" and "a", "b|c")
        return e.getFeature() + '|' + e.getModel() + '|' + escape(e.getUser()) + '|' + escape(e.getApiKey()) + '|' + e.getTime().toEpochMilli()
                + '|' + e.getUsage();
    }

    private static String escape(String text) {
        return text == null ? "null" : KeyParts.escape(text);
    }

    /**
     * Whether the identity was remembered within {@code window} before {@code at} (or up to {@link #DISORDER}
     * after it). Identities are kept at the start of their bucket ({@link #remember}), so this is one point
     * lookup per bucket, at most six (each answered by RocksDB's bloom filters when the id is new, the common
     * case), instead of a range scan over the store's segments.
     */
    static boolean isDuplicate(DedupStore seen, Bytes identity, long at, Duration window) {
        return find(seen, identity, at, window) != null;
    }

    /** The identity as remembered within {@code window} before {@code at} (or {@link #DISORDER} after), or null. */
    static Found find(DedupStore seen, Bytes identity, long at, Duration window) {
        long width = width(window);
        long last = at + DISORDER.toMillis();
        for (long bucket = bucket(at - window.toMillis(), width); bucket <= last; bucket += width) {
            byte[] value = seen.fetch(identity, bucket);
            if (value != null) {
                return new Found(bucket, value);
            }
        }
        return null;
    }

    /** Remembers the identity at the start of the bucket of {@code at}, with {@code value}. */
    static void remember(DedupStore seen, Bytes identity, byte[] value, long at, Duration window) {
        seen.put(identity, value, bucket(at, width(window)));
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
        return hash(identityText(event));
    }

    private static String identityText(UsageEvent event) {
        String source = event.getSource();
        return event.getCustomer() + '|' + source.length() + ':' + source + '|' + event.getId();
    }

    private static Bytes hash(String text) {
        long[] hash = Murmur3.hash128(text.getBytes(StandardCharsets.UTF_8));
        return Bytes.wrap(ByteBuffer.allocate(16).putLong(hash[0]).putLong(hash[1]).array());
    }
}

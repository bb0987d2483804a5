package io.capstream.aggregator.topology;

import io.capstream.policy.booking.Accounting;
import io.capstream.policy.booking.Series;
import io.capstream.policy.booking.Series.Combination;
import io.capstream.policy.booking.Series.Granularity;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.Period;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageBucket;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;

/**
 * A task's usage series ({@link Series}): every booked event added to its customer's local-hour and
 * local-day buckets in two RocksDB window stores, which drop buckets older than their retention. Each
 * is a {@link SeriesStore}: a bucket changed by many events is written once per commit, and counts each
 * event exactly once.
 *
 * <p>Keys are {@code customer|feature|model|api_key|user} ({@link Combination#key}); the window start
 * is the bucket's start, so one customer's buckets of a span are one range fetch.
 */
public final class SeriesBook {
    private final SeriesStore hourly;
    private final SeriesStore daily;
    /** A customer's bucket of one granularity. */
    private record BucketId(String customer, Granularity granularity, long start) {}

    /**
     * The combinations each recently used bucket keeps ({@link Combination#key}), read from the store when
     * first needed, so an event needs no store read to know whether its combination is new. At most
     * {@value #MAX_BUCKETS_KNOWN} buckets per task (each at most 2 × {@link Series#MAX_COMBINATIONS} + 1 keys).
     */
    private final Map<BucketId, Set<String>> kept = Lru.of(MAX_BUCKETS_KNOWN);
    static final int MAX_BUCKETS_KNOWN = 2_000;

    /** The last bucket computed per granularity (events come roughly in time order): no zone rules per event. */
    private final Period[] lastBucket = new Period[Granularity.values().length];
    private final ZoneId[] lastZone = new ZoneId[Granularity.values().length];

    SeriesBook(SeriesStore hourly, SeriesStore daily) {
        this.hourly = hourly;
        this.daily = daily;
        hourly.open();
        daily.open();
    }

    private Period bucketAt(Granularity granularity, Instant t, ZoneId zone) {
        int g = granularity.ordinal();
        Period last = lastBucket[g];
        if (last == null || !zone.equals(lastZone[g]) || !last.contains(t)) {
            last = granularity.bucketAt(t, zone);
            lastBucket[g] = last;
            lastZone[g] = zone;
        }
        return last;
    }

    /** An event's two changed buckets, computed and checked before anything of the event is written. */
    final class Change {
        private final List<Runnable> writes = new ArrayList<>(2);

        /** Writes both buckets. */
        void write() {
            writes.forEach(Runnable::run);
        }
    }

    /**
     * The change one booked event (its usage per meter and the split of its cost) makes to its hour and
     * its day; throws {@link RejectedEventException} if a bucket would no longer fit its wire type.
     */
    Change prepare(String customer, Combination combination, Instant t, ZoneId zone, Map<String, BigDecimal> usage, Accounting.Split split) {
        Change change = new Change();
        prepare(change, hourly, Granularity.HOUR, customer, combination, t, zone, usage, split);
        prepare(change, daily, Granularity.DAY, customer, combination, t, zone, usage, split);
        return change;
    }

    private void prepare(Change change, SeriesStore store, Granularity granularity, String customer, Combination combination,
                         Instant t, ZoneId zone, Map<String, BigDecimal> usage, Accounting.Split split) {
        Period bucket = bucketAt(granularity, t, zone);
        long start = bucket.start().toEpochMilli();
        BucketId id = new BucketId(customer, granularity, start);
        Set<String> keys = kept.get(id);
        if (keys == null) {
            keys = keysAt(store, customer, start);
            kept.put(id, keys);
        }
        Set<String> known = keys;
        Combination counted = Series.bounded(combination, known.size(), c -> known.contains(c.key()));
        String combinationKey = counted.key();
        String key = customer + '|' + combinationKey;
        UsageBucket before = known.contains(combinationKey) ? store.bucket(key, start) : null;
        BigDecimal cost = plus(before == null ? null : before.getCost(), split.cost());
        BigDecimal included = plus(before == null ? null : before.getIncluded(), split.included());
        BigDecimal grantCovered = plus(before == null ? null : before.getGrantCovered(), split.grantCovered());
        BigDecimal billed = plus(before == null ? null : before.getBilled(), split.billed());
        for (BigDecimal amount : new BigDecimal[] {cost, included, grantCovered, billed}) {
            if (!Decimals.fitsTotal(amount)) {
                throw new RejectedEventException("usage", "booking it would take the " + granularity.text() + " starting " + bucket.start()
                        + " of customer " + customer + " past the largest amount kept; nothing was booked");
            }
        }
        List<Quantity> quantities = quantities(before == null ? List.of() : before.getQuantities(), usage);
        change.writes.add(() -> {
            UsageBucket after = before;
            if (after == null) {
                after = new UsageBucket(bucket.end(), zone.getId(), quantities, cost, included, grantCovered, billed, 0L);
                known.add(combinationKey);
            } else {
                after.setQuantities(quantities);
                after.setCost(cost);
                after.setIncluded(included);
                after.setGrantCovered(grantCovered);
                after.setBilled(billed);
            }
            after.setEvents(after.getEvents() + 1);
            store.change(key, start, after);
        });
    }

    private static BigDecimal plus(BigDecimal before, BigDecimal amount) {
        return before == null ? amount : amount.signum() == 0 ? before : before.add(amount);
    }

    /** The bucket's quantities with the event's added (a new list: nothing changes until the event is written). */
    private static List<Quantity> quantities(List<Quantity> before, Map<String, BigDecimal> usage) {
        List<Quantity> quantities = new ArrayList<>(before);
        usage.forEach((meter, q) -> {
            for (int i = 0; i < quantities.size(); i++) {
                Quantity m = quantities.get(i);
                if (m.getMeter().equals(meter)) {
                    quantities.set(i, new Quantity(meter, null, m.getQuantity().add(q)));
                    return;
                }
            }
            quantities.add(new Quantity(meter, null, q));
        });
        return quantities;
    }

    /** The combinations the customer's bucket keeps: the changes not yet written are written first, then listed. */
    private static Set<String> keysAt(SeriesStore store, String customer, long start) {
        store.writeChanged();
        Set<String> keys = new HashSet<>();
        String prefix = customer + '|';
        store.keysAt(prefix, start).forEach(k -> keys.add(k.substring(prefix.length())));
        return keys;
    }

    /** A stored bucket: the combination it counts, its local hour or day, and the usage. */
    public record Stored(Combination combination, Period bucket, UsageBucket usage) {}

    /** One customer's buckets that start in [from, to), in the order of the store. */
    public static List<Stored> read(ReadOnlyWindowStore<String, UsageBucket> store, String customer, Instant from, Instant to) {
        List<Stored> out = new ArrayList<>();
        String prefix = customer + '|';
        // fetch's time bounds are inclusive: a bucket that starts at `to` is not in [from, to)
        try (KeyValueIterator<Windowed<String>, UsageBucket> it = store.fetch(prefix, customer + "|\uffff", from, to.minusMillis(1))) {
            while (it.hasNext()) {
                KeyValue<Windowed<String>, UsageBucket> kv = it.next();
                String key = kv.key.key();
                if (key.startsWith(prefix)) {
                    out.add(new Stored(Combination.ofKey(key.substring(prefix.length())),
                            new Period(kv.key.window().startTime(), kv.value.getBucketEnd()), kv.value));
                }
            }
        }
        return out;
    }
}

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
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;
import org.apache.kafka.streams.state.WindowStore;

/**
 * A task's usage series ({@link Series}): every booked event added to its customer's local-hour and
 * local-day buckets in two RocksDB window stores, which drop buckets older than their retention. The
 * stores are logged and cached like the task's other state, so a bucket changed by many events is
 * written once per commit and counts each event exactly once.
 *
 * <p>Keys are {@code customer|feature|model|api_key|user} ({@link Combination#key}); the window start
 * is the bucket's start, so one customer's buckets of a span are one range fetch.
 */
public final class SeriesBook {
    private final WindowStore<String, UsageBucket> hourly;
    private final WindowStore<String, UsageBucket> daily;
    /** How many combinations a bucket keeps (customer|granularity|start → count), counted from the store when first needed. */
    private final Map<String, Integer> kept = new LinkedHashMap<>(1024, 0.75f, true) {
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, Integer> eldest) {
            return size() > 50_000;
        }
    };

    SeriesBook(WindowStore<String, UsageBucket> hourly, WindowStore<String, UsageBucket> daily) {
        this.hourly = hourly;
        this.daily = daily;
    }

    /** An event's two changed buckets, computed and checked before anything of the event is written. */
    final class Change {
        private final List<Runnable> puts = new ArrayList<>(2);

        /** Writes both buckets. */
        void write() {
            puts.forEach(Runnable::run);
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

    private void prepare(Change change, WindowStore<String, UsageBucket> store, Granularity granularity, String customer, Combination combination,
                         Instant t, ZoneId zone, Map<String, BigDecimal> usage, Accounting.Split split) {
        Period bucket = granularity.bucketAt(t, zone);
        long start = bucket.start().toEpochMilli();
        String countKey = customer + '|' + granularity.text() + '|' + start;
        Integer known = kept.get(countKey);
        int count = known != null ? known : count(store, customer, start);
        Combination counted = Series.bounded(combination, count, c -> store.fetch(key(customer, c), start) != null);
        String key = key(customer, counted);
        UsageBucket before = store.fetch(key, start);
        UsageBucket after = plus(before, bucket, zone, usage, split);
        for (BigDecimal amount : List.of(after.getCost(), after.getIncluded(), after.getGrantCovered(), after.getBilled())) {
            if (!Decimals.fitsTotal(amount)) {
                throw new RejectedEventException("usage", "booking it would take the " + granularity.text() + " starting " + bucket.start()
                        + " of customer " + customer + " past the largest amount kept; nothing was booked");
            }
        }
        int countAfter = before == null ? count + 1 : count;
        change.puts.add(() -> {
            kept.put(countKey, countAfter);
            store.put(key, after, start);
        });
    }

    static String key(String customer, Combination combination) {
        return customer + '|' + combination.key();
    }

    private static int count(WindowStore<String, UsageBucket> store, String customer, long start) {
        int n = 0;
        try (KeyValueIterator<Windowed<String>, UsageBucket> it = store.fetch(customer + '|', customer + "|\uffff", Instant.ofEpochMilli(start),
                Instant.ofEpochMilli(start))) {
            while (it.hasNext()) {
                if (it.next().key.key().startsWith(customer + '|')) {
                    n++;
                }
            }
        }
        return n;
    }

    private static UsageBucket plus(UsageBucket before, Period bucket, ZoneId zone, Map<String, BigDecimal> usage, Accounting.Split split) {
        if (before == null) {
            List<Quantity> quantities = new ArrayList<>(usage.size());
            usage.forEach((meter, q) -> quantities.add(new Quantity(meter, null, Decimals.quantity(q))));
            return UsageBucket.newBuilder().setBucketEnd(bucket.end()).setTimezone(zone.getId()).setQuantities(quantities)
                    .setCost(Decimals.money(split.cost())).setIncluded(Decimals.money(split.included()))
                    .setGrantCovered(Decimals.money(split.grantCovered())).setBilled(Decimals.money(split.billed())).setEvents(1).build();
        }
        List<Quantity> quantities = new ArrayList<>(before.getQuantities());
        usage.forEach((meter, q) -> {
            for (int i = 0; i < quantities.size(); i++) {
                if (quantities.get(i).getMeter().equals(meter)) {
                    quantities.set(i, new Quantity(meter, null, Decimals.quantity(quantities.get(i).getQuantity().add(q))));
                    return;
                }
            }
            quantities.add(new Quantity(meter, null, Decimals.quantity(q)));
        });
        return UsageBucket.newBuilder(before).setQuantities(quantities)
                .setCost(Decimals.money(before.getCost().add(split.cost()))).setIncluded(Decimals.money(before.getIncluded().add(split.included())))
                .setGrantCovered(Decimals.money(before.getGrantCovered().add(split.grantCovered())))
                .setBilled(Decimals.money(before.getBilled().add(split.billed()))).setEvents(before.getEvents() + 1).build();
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

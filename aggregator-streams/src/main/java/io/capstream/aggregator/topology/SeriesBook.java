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
import java.nio.ByteBuffer;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;

/**
 * A task's usage series ({@link Series}): every booked event added to its customer's local-hour bucket,
 * and each local day rolled up from its hours once it has ended, in two RocksDB window stores that drop
 * buckets older than their retention. Each is a {@link SeriesStore}: a bucket changed by many events is
 * written once per commit, and counts each event exactly once.
 *
 * <p><b>Days are rolled up, not written per event.</b> An event changes one bucket (its hour), so the
 * series cost one changelog record per changed combination and commit, not two. Per customer the
 * rollups store keeps {@link Rollup#rolledUntil}: the daily store holds exactly the usage of the hours
 * that start before it, and the hourly store every hour. A day is then its daily buckets plus its hours
 * from {@code rolledUntil} on ({@link #readDays}); a punctuation ({@link #rollUp}) adds the hours of the
 * days that ended {@link #ROLLUP_DELAY} ago to the daily store and moves {@code rolledUntil} past them,
 * in the same transaction. An event later than that (the late window is longer) is added to its day at
 * once as well as to its hour. The hourly retention must outlast the time to the next rollup
 * (at least {@link UsageTopology.SeriesRetention#MIN_HOURLY}).
 *
 * <p>Keys are {@code customer|feature|model|api_key|user} ({@link Combination#key}); the window start
 * is the bucket's start, so one customer's buckets of a span are one range fetch.
 */
public final class SeriesBook {
    /** How long after a customer's local day has ended its hours are rolled up (events that late are still taken). */
    static final Duration ROLLUP_DELAY = Duration.ofHours(1);

    /**
     * A customer's rollup: the daily store holds the usage of every hour that starts before {@code rolledUntil}
     * (epoch ms; 0 before the first rollup), and {@code openFrom} is the earliest start of an hour at or after
     * it that holds usage ({@link #NONE}: no such hour, nothing to roll up).
     */
    public record Rollup(long rolledUntil, long openFrom) {
        static final long NONE = -1;
        static final Rollup FIRST = new Rollup(0, NONE);
    }

    private final SeriesStore hourly;
    private final SeriesStore daily;
    private final KeyValueStore<String, Rollup> rollups;
    /** A customer's bucket of one granularity. */
    private record BucketId(String customer, Granularity granularity, long start) {}

    /**
     * The combinations each recently used bucket keeps ({@link Combination#key}), read from the store when
     * first needed, so an event needs no store read to know whether its combination is new. At most
     * {@value #MAX_BUCKETS_KNOWN} buckets per task (each at most 2 × {@link Series#MAX_COMBINATIONS} + 1 keys).
     */
    private final Map<BucketId, Set<String>> kept = Lru.of(MAX_BUCKETS_KNOWN);
    static final int MAX_BUCKETS_KNOWN = 2_000;
    /** The rollups of recent customers (the store is written through: this only spares the read). */
    private final Map<String, Rollup> rollupsKnown = Lru.of(MAX_BUCKETS_KNOWN);

    /** The last bucket computed per granularity (events come roughly in time order): no zone rules per event. */
    private final Period[] lastBucket = new Period[Granularity.values().length];
    private final ZoneId[] lastZone = new ZoneId[Granularity.values().length];

    SeriesBook(SeriesStore hourly, SeriesStore daily, KeyValueStore<String, Rollup> rollups) {
        this.hourly = hourly;
        this.daily = daily;
        this.rollups = rollups;
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

    private Rollup rollup(String customer) {
        Rollup r = rollupsKnown.get(customer);
        if (r == null) {
            r = Objects.requireNonNullElse(rollups.get(customer), Rollup.FIRST);
            rollupsKnown.put(customer, r);
        }
        return r;
    }

    private void setRollup(String customer, Rollup r) {
        rollups.put(customer, r);
        rollupsKnown.put(customer, r);
    }

    /** What one event or one hour adds to a bucket. */
    private record Amount(Map<String, BigDecimal> usage, BigDecimal cost, BigDecimal included, BigDecimal grantCovered,
                          BigDecimal billed, long events) {
        static Amount of(Map<String, BigDecimal> usage, Accounting.Split split, long events) {
            return new Amount(usage, split.cost(), split.included(), split.grantCovered(), split.billed(), events);
        }

        static Amount of(UsageBucket hour) {
            Map<String, BigDecimal> usage = new LinkedHashMap<>();
            hour.getQuantities().forEach(q -> usage.put(q.getMeter(), q.getQuantity()));
            return new Amount(usage, hour.getCost(), hour.getIncluded(), hour.getGrantCovered(), hour.getBilled(), hour.getEvents());
        }
    }

    /**
     * An event's changed buckets, computed and checked before anything of the event is written. A change may hold
     * several bookings (an amendment: the version taken back, then the new one): each adds to what the bookings before
     * it in the change leave in a bucket, not to the stored bucket, so that the last does not overwrite the first.
     */
    final class Change {
        private final List<Runnable> writes = new ArrayList<>(2);
        private final Map<PendingId, Pending> pending = new LinkedHashMap<>(4);

        /** Writes the buckets. */
        void write() {
            writes.forEach(Runnable::run);
        }

        /** The combinations this change adds to a bucket that it does not keep yet. */
        private int added(SeriesStore store, String customer, long start) {
            int n = 0;
            for (Map.Entry<PendingId, Pending> e : pending.entrySet()) {
                PendingId id = e.getKey();
                n += id.store() == store && id.start() == start && id.customer().equals(customer) && e.getValue().before() == null ? 1 : 0;
            }
            return n;
        }
    }

    /** A bucket a change writes: of which store, customer, combination key and start. */
    private record PendingId(SeriesStore store, String customer, String combinationKey, long start) {}

    /** What a change leaves in a bucket: the bucket before it (null: a new one) and the amounts after it. */
    private record Pending(UsageBucket before, List<Quantity> quantities, BigDecimal cost, BigDecimal included, BigDecimal grantCovered,
                           BigDecimal billed, long events) {}

    /**
     * The change one booked event (its usage per meter and the split of its cost, signed as booked, and how it changes
     * the count of events: 1 for an event or an adjustment, -1 for an event taken back) makes to its hour (and to its
     * day if that is already rolled up); throws {@link RejectedEventException} if a bucket would no longer fit.
     */
    Change prepare(String customer, Combination combination, Instant t, ZoneId zone, Map<String, BigDecimal> usage, Accounting.Split split,
                   long events) {
        return prepare(new Change(), customer, combination, t, zone, usage, split, events);
    }

    /** As {@link #prepare(String, Combination, Instant, ZoneId, Map, Accounting.Split, long)}, added to {@code change}. */
    Change prepare(Change change, String customer, Combination combination, Instant t, ZoneId zone, Map<String, BigDecimal> usage,
                   Accounting.Split split, long events) {
        Amount amount = Amount.of(usage, split, events);
        Period hour = bucketAt(Granularity.HOUR, t, zone);
        prepare(change, hourly, Granularity.HOUR, hour, customer, combination, zone, amount);
        long hourStart = hour.start().toEpochMilli();
        Rollup r = rollup(customer);
        if (hourStart < r.rolledUntil()) {
            // later than its day's rollup: the day counts it at once
            prepare(change, daily, Granularity.DAY, bucketAt(Granularity.DAY, t, zone), customer, combination, zone, amount);
        } else if (r.openFrom() == Rollup.NONE || hourStart < r.openFrom()) {
            long due = bucketAt(Granularity.DAY, t, zone).end().plus(ROLLUP_DELAY).toEpochMilli();
            change.writes.add(() -> {
                Rollup current = rollup(customer); // an earlier booking of the change may have opened an earlier hour
                if (current.openFrom() == Rollup.NONE || hourStart < current.openFrom()) {
                    setRollup(customer, new Rollup(current.rolledUntil(), hourStart));
                }
                rollUpDue = Math.min(rollUpDue, due);
            });
        }
        return change;
    }

    private void prepare(Change change, SeriesStore store, Granularity granularity, Period bucket, String customer, Combination combination,
                         ZoneId zone, Amount amount) {
        long start = bucket.start().toEpochMilli();
        BucketId id = new BucketId(customer, granularity, start);
        Set<String> keys = kept.get(id);
        if (keys == null) {
            keys = keysAt(store, customer, start);
            kept.put(id, keys);
        }
        Set<String> known = keys;
        Combination counted = Series.bounded(combination, known.size() + change.added(store, customer, start),
                c -> known.contains(c.key()) || change.pending.containsKey(new PendingId(store, customer, c.key(), start)));
        String combinationKey = counted.key();
        String key = customer + '|' + combinationKey;
        PendingId pendingId = new PendingId(store, customer, combinationKey, start);
        Pending earlier = change.pending.get(pendingId);
        UsageBucket before = earlier != null ? earlier.before() : known.contains(combinationKey) ? store.bucket(key, start) : null;
        BigDecimal cost = plus(earlier != null ? earlier.cost() : before == null ? null : before.getCost(), amount.cost());
        BigDecimal included = plus(earlier != null ? earlier.included() : before == null ? null : before.getIncluded(), amount.included());
        BigDecimal grantCovered = plus(earlier != null ? earlier.grantCovered() : before == null ? null : before.getGrantCovered(),
                amount.grantCovered());
        BigDecimal billed = plus(earlier != null ? earlier.billed() : before == null ? null : before.getBilled(), amount.billed());
        for (BigDecimal a : new BigDecimal[] {cost, included, grantCovered, billed}) {
            if (!Series.fits(granularity, a)) {
                throw new RejectedEventException("usage", "booking it would take the " + granularity.text() + " starting " + bucket.start()
                        + " of customer " + customer + " past the largest amount kept; nothing was booked");
            }
        }
        List<Quantity> quantities = quantities(earlier != null ? earlier.quantities() : before == null ? List.of() : before.getQuantities(),
                amount.usage());
        long events = (earlier == null ? 0 : earlier.events()) + amount.events();
        change.pending.put(pendingId, new Pending(before, quantities, cost, included, grantCovered, billed, events));
        if (earlier != null) {
            return; // the write below, added by the earlier booking, writes what the change leaves
        }
        change.writes.add(() -> {
            Pending last = change.pending.get(pendingId);
            UsageBucket after = before;
            if (after == null) {
                after = new UsageBucket(bucket.end(), zone.getId(), last.quantities(), last.cost(), last.included(), last.grantCovered(),
                        last.billed(), 0L);
                known.add(combinationKey);
            } else {
                after.setQuantities(last.quantities());
                after.setCost(last.cost());
                after.setIncluded(last.included());
                after.setGrantCovered(last.grantCovered());
                after.setBilled(last.billed());
            }
            after.setEvents(after.getEvents() + last.events());
            store.change(key, start, after);
        });
    }

    /**
     * When {@link #rollUp} next has a day to roll up (epoch ms): the earliest end of a customer's first open day plus
     * {@link #ROLLUP_DELAY}, from the last pass and every hour opened since. A new book (a task started, restored or moved)
     * does not know it, so its first pass reads every customer's rollup.
     */
    private long rollUpDue = Long.MIN_VALUE;

    /**
     * Rolls up, for every customer of the task with hours to roll, the hours of its days that ended
     * {@link #ROLLUP_DELAY} before {@code now} into its daily buckets (a punctuation on the stream thread). It reads the
     * customers' rollups and hours only when a day is due ({@link #rollUpDue}): once a day or so, not at every call.
     */
    void rollUp(Instant now) {
        if (now.toEpochMilli() < rollUpDue) {
            return;
        }
        long next = Long.MAX_VALUE;
        List<KeyValue<String, Rollup>> open = new ArrayList<>();
        try (KeyValueIterator<String, Rollup> it = rollups.all()) {
            it.forEachRemaining(kv -> {
                if (kv.value.openFrom() != Rollup.NONE) {
                    open.add(kv);
                }
            });
        }
        if (!open.isEmpty()) {
            hourly.writeChanged(); // the hours as the stream thread sees them
        }
        for (KeyValue<String, Rollup> kv : open) {
            next = Math.min(next, rollUp(kv.key, kv.value, now));
        }
        rollUpDue = next;
    }

    /** Rolls up the customer's ended days; when its next day is due (epoch ms; {@code Long.MAX_VALUE}: no hour open). */
    private long rollUp(String customer, Rollup r, Instant now) {
        Instant ended = now.minus(ROLLUP_DELAY);
        List<Stored> hours = read(hourly, customer, Instant.ofEpochMilli(r.openFrom()), LAST);
        hours.sort(Comparator.comparing(h -> h.bucket().start()));
        // every hour before `until` is rolled up: its day (in the timezone it was cut in) has ended
        long until = r.rolledUntil();
        for (Stored h : hours) {
            if (day(h).end().isAfter(ended)) {
                until = Math.min(until, h.bucket().start().toEpochMilli()); // this hour and every later one stay
                break;
            }
            until = Math.max(until, day(h).end().toEpochMilli());
        }
        long openFrom = Rollup.NONE;
        long due = Long.MAX_VALUE;
        for (Stored h : hours) {
            if (h.bucket().start().toEpochMilli() >= until) {
                openFrom = h.bucket().start().toEpochMilli();
                due = day(h).end().plus(ROLLUP_DELAY).toEpochMilli();
                break;
            }
            // one hour at a time: the next hour of the same day and combination adds to what this one wrote
            Change change = new Change();
            prepare(change, daily, Granularity.DAY, day(h), customer, h.combination(), ZoneId.of(h.usage().getTimezone()), Amount.of(h.usage()));
            change.write();
        }
        Rollup after = new Rollup(until, openFrom);
        if (!after.equals(r)) {
            daily.writeChanged(); // before the new rollup: a reader that sees it sees the days it covers (readDays)
            setRollup(customer, after);
        }
        return due;
    }

    /** The local day of a stored hour, in the timezone the hour was cut in. */
    private static Period day(Stored hour) {
        return Granularity.DAY.bucketAt(hour.bucket().start(), ZoneId.of(hour.usage().getTimezone()));
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

    /** Later than any bucket: the end of the last year the API takes (docs/api.md, "Limits"). */
    private static final Instant LAST = Instant.parse("9999-12-31T23:59:59Z");

    /** One customer's buckets of {@code store} that start in [from, to), in the order of the store. */
    public static List<Stored> read(ReadOnlyWindowStore<String, UsageBucket> store, String customer, Instant from, Instant to) {
        List<Stored> out = new ArrayList<>();
        read(store, customer, from, to, out::add);
        return out;
    }

    /**
     * One customer's buckets of {@code store} that start in [from, to), in the order of the store, each handed to {@code each}
     * as it is read (nothing is kept: a reader that folds them holds only what it folds into).
     */
    public static void read(ReadOnlyWindowStore<String, UsageBucket> store, String customer, Instant from, Instant to, Consumer<Stored> each) {
        String prefix = customer + '|';
        // Kafka Streams bounds a key-range fetch by the key and the end time's bytes, but for an end time whose first byte is not
        // 0 (after the year 2.2 million; Long.MAX_VALUE) it cuts the key after its first byte: the fetch then walks the keys of
        // every customer whose id starts with the same letter. No bucket starts after the last time the API takes.
        Instant end = to.isAfter(LAST) ? LAST : to;
        // fetch's time bounds are inclusive: a bucket that starts at `to` is not in [from, to)
        try (KeyValueIterator<Windowed<String>, UsageBucket> it = store.fetch(prefix, customer + "|\uffff", from, end.minusMillis(1))) {
            while (it.hasNext()) {
                KeyValue<Windowed<String>, UsageBucket> kv = it.next();
                String key = kv.key.key();
                if (key.startsWith(prefix)) {
                    each.accept(new Stored(Combination.ofKey(key.substring(prefix.length())),
                            new Period(kv.key.window().startTime(), kv.value.getBucketEnd()), kv.value));
                }
            }
        }
    }

    /**
     * One customer's days that start in [from, to): the rolled-up daily buckets plus the hours not rolled up yet,
     * one bucket per day (in the timezone it was cut in) and combination.
     */
    public static List<Stored> readDays(ReadOnlyWindowStore<String, UsageBucket> daily, ReadOnlyWindowStore<String, UsageBucket> hourly,
                                        ReadOnlyKeyValueStore<String, Rollup> rollups, String customer, Instant from, Instant to) {
        return new ArrayList<>(foldDays(daily, hourly, rollups, customer, from, to, ByDayAndCombination::new).days.values());
    }

    /**
     * One customer's days that start in [from, to), folded into a fold that {@code fold} makes: the rolled-up daily buckets, then
     * each hour not rolled up yet as a bucket of the day that holds it (in the timezone it was cut in; its usage still carries
     * the hour's end), several of one day and combination where a day is partly rolled up. Consistent while a rollup runs:
     * the rollup is read before and after, and a fold made while it moved is dropped and made again with a new fold (three
     * times at most).
     */
    public static <F extends Consumer<Stored>> F foldDays(ReadOnlyWindowStore<String, UsageBucket> daily, ReadOnlyWindowStore<String, UsageBucket> hourly,
                                                          ReadOnlyKeyValueStore<String, Rollup> rollups, String customer, Instant from, Instant to,
                                                          Supplier<F> fold) {
        for (int attempt = 1; ; attempt++) {
            Rollup before = Objects.requireNonNullElse(rollups.get(customer), Rollup.FIRST);
            F days = fold.get();
            read(daily, customer, from, to, days);
            Instant hoursFrom = Instant.ofEpochMilli(Math.max(from.toEpochMilli(), before.rolledUntil()));
            if (hoursFrom.isBefore(to)) {
                read(hourly, customer, hoursFrom, to, h -> days.accept(new Stored(h.combination(), day(h), h.usage())));
            }
            if (attempt == 3 || before.equals(Objects.requireNonNullElse(rollups.get(customer), Rollup.FIRST))) {
                return days;
            }
        }
    }

    /** Days folded into one bucket per day and combination. */
    private static final class ByDayAndCombination implements Consumer<Stored> {
        final Map<String, Stored> days = new LinkedHashMap<>();

        @Override
        public void accept(Stored s) {
            // an hour's usage as its day's (the bucket end an hour's usage carries is the hour's)
            merge(days, s.usage().getBucketEnd().equals(s.bucket().end()) ? s : new Stored(s.combination(), s.bucket(), copy(s.usage(), s.bucket())));
        }
    }

    private static void merge(Map<String, Stored> days, Stored s) {
        days.merge(s.bucket().start().toEpochMilli() + "|" + s.combination().key(), s, (a, b) -> {
            UsageBucket sum = copy(a.usage(), a.bucket());
            Amount add = Amount.of(b.usage());
            sum.setQuantities(quantities(sum.getQuantities(), add.usage()));
            sum.setCost(sum.getCost().add(add.cost()));
            sum.setIncluded(sum.getIncluded().add(add.included()));
            sum.setGrantCovered(sum.getGrantCovered().add(add.grantCovered()));
            sum.setBilled(sum.getBilled().add(add.billed()));
            sum.setEvents(sum.getEvents() + add.events());
            return new Stored(a.combination(), a.bucket(), sum);
        });
    }

    private static UsageBucket copy(UsageBucket b, Period bucket) {
        return new UsageBucket(bucket.end(), b.getTimezone(), new ArrayList<>(b.getQuantities()), b.getCost(), b.getIncluded(),
                b.getGrantCovered(), b.getBilled(), b.getEvents());
    }

    /** The rollups store's values: two longs. */
    static final class RollupSerde implements Serde<Rollup> {
        @Override
        public Serializer<Rollup> serializer() {
            return (topic, r) -> r == null ? null : ByteBuffer.allocate(16).putLong(r.rolledUntil()).putLong(r.openFrom()).array();
        }

        @Override
        public Deserializer<Rollup> deserializer() {
            return (topic, bytes) -> {
                if (bytes == null) {
                    return null;
                }
                ByteBuffer b = ByteBuffer.wrap(bytes);
                return new Rollup(b.getLong(), b.getLong());
            };
        }
    }
}

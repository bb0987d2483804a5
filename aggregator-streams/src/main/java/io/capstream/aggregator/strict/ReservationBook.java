package io.capstream.aggregator.strict;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Comparator;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import java.util.PriorityQueue;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Function;

/**
 * Strict-mode reservations (DESIGN 4.5) for the customers whose partitions this aggregator instance
 * owns: a request reserves its estimate against each strict cap it matches, and is admitted only if
 * {@code limit − (used + open reservations)} covers it, atomically per customer. A usage event of the
 * same customer that carries the reservation id settles it (its real usage is then in the running
 * total); a reservation can be released, and expires after the hold timeout so a lost one cannot
 * block a customer for ever.
 *
 * <p>Reservation ids are chosen by the caller, so a reservation is idempotent: asking again with an
 * open id answers the same reservation, and an id that was settled or released stays spent for the
 * hold timeout. A caller that gave up waiting releases its id whether or not its reservation arrived:
 * if the release comes first, the reservation that follows it is refused, so nothing leaks.
 *
 * <p>Each customer has its own book and its own lock, with the open amount per limit kept as a running
 * sum and expiries in a queue, so one customer's many reservations never slow another customer's.
 * This book is the owner's answer in memory; every reservation it makes or releases is also written to
 * the {@code reservations} topic (before it is answered), and the task that owns the customer keeps
 * the open ones in a changelogged store. When a partition moves, the new owner's task starts from that
 * store ({@link #restorePartition}), so open reservations move with it.
 */
public final class ReservationBook {
    /** One limit a reservation holds an amount of. */
    public record Hold(String limitKey, BigDecimal amount, BigDecimal limit) {}

    private record Reservation(String id, Map<String, BigDecimal> holds, Instant expiresAt) {}

    /** An open reservation as the owning task's store keeps it: what it holds on each limit (by limit key) and until when. */
    public record Open(String id, String customer, Map<String, BigDecimal> holds, Instant expiresAt) {}

    /**
     * The outcome of a reservation: its id, or the limit that could not cover it, or (all empty) that the
     * id was already settled or released.
     */
    public record Result(Optional<String> id, Optional<Hold> refusedBy, Optional<BigDecimal> availableThere) {
        static final Result SPENT = new Result(Optional.empty(), Optional.empty(), Optional.empty());

        /** The id was settled or released before: nothing is held for it again. */
        public boolean spent() {
            return id.isEmpty() && refusedBy.isEmpty();
        }
    }

    /** One customer's open reservations; guarded by its own monitor. */
    private static final class Book {
        /** The partition of usage-events (and of the task) the customer is on. */
        final int partition;
        final Map<String, Reservation> byId = new HashMap<>();
        final Map<String, BigDecimal> open = new HashMap<>();
        final PriorityQueue<Reservation> byExpiry = new PriorityQueue<>(Comparator.comparing(Reservation::expiresAt));
        /** Ids settled or released, until the hold timeout after that: a late or repeated reservation with one is refused. */
        final Map<String, Instant> spent = new HashMap<>();
        final java.util.ArrayDeque<Map.Entry<String, Instant>> spentByExpiry = new java.util.ArrayDeque<>();

        Book(int partition) {
            this.partition = partition;
        }

        void add(Reservation r) {
            byId.put(r.id(), r);
            byExpiry.add(r);
            r.holds().forEach((key, amount) -> open.merge(key, amount, BigDecimal::add));
        }

        /** Removes an open reservation and keeps its id spent until {@code until}; false if it was not open. */
        boolean spend(String id, Instant until) {
            if (spent.put(id, until) == null) {
                spentByExpiry.add(Map.entry(id, until));
            }
            return remove(id);
        }

        boolean remove(String id) {
            Reservation r = byId.remove(id);
            if (r == null) {
                return false;
            }
            r.holds().forEach((key, amount) -> open.computeIfPresent(key, (k, sum) -> {
                BigDecimal left = sum.subtract(amount);
                return left.signum() == 0 ? null : left;
            }));
            return true; // its queue entry is dropped when it comes up
        }

        void expire(Instant now) {
            while (!spentByExpiry.isEmpty() && !spentByExpiry.peek().getValue().isAfter(now)) {
                Map.Entry<String, Instant> e = spentByExpiry.poll();
                spent.remove(e.getKey(), e.getValue());
            }
            while (!byExpiry.isEmpty() && !byExpiry.peek().expiresAt().isAfter(now)) {
                Reservation r = byExpiry.poll();
                if (byId.get(r.id()) == r) {
                    remove(r.id());
                }
            }
        }
    }

    private final Map<String, Book> books = new ConcurrentHashMap<>();
    private final Duration hold;
    private final Clock clock;

    public ReservationBook(Duration hold, Clock clock) {
        this.hold = hold;
        this.clock = clock;
    }

    /**
     * Reserves every hold, or none. An id that is open answers that reservation again; one that was settled
     * or released answers {@link Result#spent()}.
     *
     * @param partition the customer's partition (of usage-events and of the task that owns it)
     * @param used what each limit has counted so far (the running total), by limit key
     */
    public Result reserve(String id, String customer, int partition, Iterable<Hold> holds, Function<String, BigDecimal> used) {
        Book book = books.computeIfAbsent(customer, c -> new Book(partition));
        synchronized (book) {
            book.expire(clock.instant());
            if (book.byId.containsKey(id)) {
                return new Result(Optional.of(id), Optional.empty(), Optional.empty());
            }
            if (book.spent.containsKey(id)) {
                return Result.SPENT;
            }
            Map<String, BigDecimal> amounts = new HashMap<>();
            for (Hold h : holds) {
                BigDecimal available = h.limit().subtract(used.apply(h.limitKey()))
                        .subtract(book.open.getOrDefault(h.limitKey(), BigDecimal.ZERO))
                        .subtract(amounts.getOrDefault(h.limitKey(), BigDecimal.ZERO));
                if (h.amount().compareTo(available) > 0) {
                    return new Result(Optional.empty(), Optional.of(h), Optional.of(available.max(BigDecimal.ZERO)));
                }
                amounts.merge(h.limitKey(), h.amount(), BigDecimal::add);
            }
            book.add(new Reservation(id, amounts, clock.instant().plus(hold)));
            return new Result(Optional.of(id), Optional.empty(), Optional.empty());
        }
    }

    /** The amount of a customer's limit held by open reservations. */
    public BigDecimal open(String customer, String limitKey) {
        Book book = books.get(customer);
        if (book == null) {
            return BigDecimal.ZERO;
        }
        synchronized (book) {
            book.expire(clock.instant());
            return book.open.getOrDefault(limitKey, BigDecimal.ZERO);
        }
    }

    /**
     * The caller gave it up: the reservation no longer holds anything, and its id
     * cannot be reserved again for the hold timeout, even if the reservation itself has not arrived yet.
     * Only the customer that made a reservation can settle or release it.
     *
     * @return whether the reservation was open
     */
    public boolean release(String customer, int partition, String id) {
        Book book = books.computeIfAbsent(customer, c -> new Book(partition));
        synchronized (book) {
            Instant now = clock.instant();
            book.expire(now);
            return book.spend(id, now.plus(hold));
        }
    }

    /**
     * The task that owns {@code partition} started on this instance (for the first time or again, perhaps
     * after another instance owned it): its customers' open reservations are exactly {@code open}, the
     * ones its changelogged store kept. Whatever this instance remembered of them from an earlier time is
     * dropped.
     */
    public void restorePartition(int partition, Iterable<Open> open) {
        books.values().removeIf(book -> book.partition == partition);
        open.forEach(o -> restore(partition, o));
    }

    /**
     * An open reservation the owning task read (from its input, made by this or an earlier owner): held
     * here too unless it is held already, was settled or released here, or has expired.
     */
    public void restore(int partition, Open open) {
        Book book = books.computeIfAbsent(open.customer(), c -> new Book(partition));
        synchronized (book) {
            book.expire(clock.instant());
            if (!book.byId.containsKey(open.id()) && !book.spent.containsKey(open.id()) && open.expiresAt().isAfter(clock.instant())) {
                book.add(new Reservation(open.id(), Map.copyOf(open.holds()), open.expiresAt()));
            }
        }
    }

    /** The reservation {@code id} of a customer, if it is open. */
    public Optional<Open> reservation(String customer, String id) {
        Book book = books.get(customer);
        if (book == null) {
            return Optional.empty();
        }
        synchronized (book) {
            Reservation r = book.byId.get(id);
            return r == null ? Optional.empty() : Optional.of(new Open(r.id(), customer, r.holds(), r.expiresAt()));
        }
    }

    /** Its usage arrived: the reservation no longer holds anything (its real usage is in the running total). */
    public void settle(String customer, String id) {
        Book book = books.get(customer);
        if (book != null) {
            synchronized (book) {
                book.remove(id);
            }
        }
    }

    public Instant expiresAt(String customer, String id) {
        Book book = books.get(customer);
        if (book == null) {
            return null;
        }
        synchronized (book) {
            Reservation r = book.byId.get(id);
            return r == null ? null : r.expiresAt();
        }
    }
}

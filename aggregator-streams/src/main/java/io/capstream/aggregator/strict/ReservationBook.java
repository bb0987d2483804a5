package io.capstream.aggregator.strict;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * Strict-mode reservations (DESIGN 4.5) for the customers whose partitions this aggregator instance
 * owns: a request reserves its estimate against each strict cap it matches, and is admitted only if
 * {@code limit − (used + open reservations)} covers it, atomically per instance. A usage event that
 * carries the reservation id settles it (its real usage is then in the running total); a
 * reservation can be released, and expires after the hold timeout so a lost one cannot block a
 * customer for ever. Reservations live in memory: when a customer's partition moves to another
 * instance its open reservations are forgotten there, which can admit at most those reservations'
 * worth beyond the cap until they would have settled.
 */
public final class ReservationBook {
    /** One limit a reservation holds an amount of. */
    public record Hold(String limitKey, BigDecimal amount, BigDecimal limit) {}

    private record Reservation(String customer, Map<String, BigDecimal> holds, Instant expiresAt) {}

    /** The outcome of a reservation: its id, or the limit that could not cover it. */
    public record Result(Optional<String> id, Optional<Hold> refusedBy, Optional<BigDecimal> availableThere) {}

    private final Map<String, Reservation> reservations = new HashMap<>();
    private final Duration hold;
    private final Clock clock;

    public ReservationBook(Duration hold, Clock clock) {
        this.hold = hold;
        this.clock = clock;
    }

    /**
     * Reserves every hold, or none.
     *
     * @param used what each limit has counted so far (the running total), by limit key
     */
    public synchronized Result reserve(String id, String customer, Iterable<Hold> holds, Function<String, BigDecimal> used) {
        expire();
        Map<String, BigDecimal> amounts = new HashMap<>();
        for (Hold h : holds) {
            BigDecimal available = h.limit().subtract(used.apply(h.limitKey())).subtract(open(h.limitKey()));
            if (h.amount().compareTo(available) > 0) {
                return new Result(Optional.empty(), Optional.of(h), Optional.of(available.max(BigDecimal.ZERO)));
            }
            amounts.merge(h.limitKey(), h.amount(), BigDecimal::add);
        }
        reservations.put(id, new Reservation(customer, amounts, clock.instant().plus(hold)));
        return new Result(Optional.of(id), Optional.empty(), Optional.empty());
    }

    /** The amount of a limit held by open reservations. */
    public synchronized BigDecimal open(String limitKey) {
        BigDecimal sum = BigDecimal.ZERO;
        for (Reservation r : reservations.values()) {
            sum = sum.add(r.holds().getOrDefault(limitKey, BigDecimal.ZERO));
        }
        return sum;
    }

    /** Its usage arrived (or the caller gave it up): the reservation no longer holds anything. */
    public synchronized boolean release(String id) {
        return reservations.remove(id) != null;
    }

    public synchronized Instant expiresAt(String id) {
        Reservation r = reservations.get(id);
        return r == null ? null : r.expiresAt();
    }

    private void expire() {
        Instant now = clock.instant();
        for (Iterator<Reservation> it = reservations.values().iterator(); it.hasNext(); ) {
            if (!it.next().expiresAt().isAfter(now)) {
                it.remove();
            }
        }
    }
}

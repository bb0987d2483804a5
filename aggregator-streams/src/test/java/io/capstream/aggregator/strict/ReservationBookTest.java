package io.capstream.aggregator.strict;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

class ReservationBookTest {
    final AtomicReference<Instant> now = new AtomicReference<>(Instant.parse("2026-11-21T10:00:00Z"));
    final Clock clock = new Clock() {
        public ZoneOffset getZone() {
            return ZoneOffset.UTC;
        }

        public Clock withZone(java.time.ZoneId zone) {
            return this;
        }

        public Instant instant() {
            return now.get();
        }
    };
    final ReservationBook book = new ReservationBook(Duration.ofMinutes(10), clock);

    static List<ReservationBook.Hold> hold(String amount) {
        return List.of(new ReservationBook.Hold("acme|cap:budget|p", new BigDecimal(amount), BigDecimal.TEN));
    }

    @Test
    void concurrentReservationsNeverAdmitMoreThanTheCap() throws Exception {
        // $9 used of $10: 64 concurrent requests of $0.10 — exactly 10 fit
        ExecutorService pool = Executors.newFixedThreadPool(16);
        List<Future<ReservationBook.Result>> results = new java.util.ArrayList<>();
        for (int i = 0; i < 64; i++) {
            int n = i;
            results.add(pool.submit(() -> book.reserve("r" + n, "acme", 0, hold("0.10"), k -> new BigDecimal("9"))));
        }
        long admitted = 0;
        for (Future<ReservationBook.Result> r : results) {
            admitted += r.get().id().isPresent() ? 1 : 0;
        }
        pool.shutdown();
        assertThat(admitted).isEqualTo(10);
        assertThat(book.open("acme", "acme|cap:budget|p")).isEqualByComparingTo("1.00");
    }

    @Test
    void aSettledOrReleasedReservationFreesItsHoldAndAnUnsettledOneExpires() {
        assertThat(book.reserve("a", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).isPresent();
        ReservationBook.Result refused = book.reserve("b", "acme", 0, hold("6"), k -> BigDecimal.ZERO);
        assertThat(refused.id()).isEmpty();
        assertThat(refused.availableThere()).hasValueSatisfying(a -> assertThat(a).isEqualByComparingTo("4"));

        assertThat(book.release("acme", 0, "a")).isTrue();
        assertThat(book.reserve("b", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).isPresent();

        now.set(now.get().plus(Duration.ofMinutes(10)));
        assertThat(book.reserve("c", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).contains("c");
    }

    @Test
    void anotherCustomersEventCannotSettleAReservation() {
        // given acme's hold of 6 on a cap of 10
        assertThat(book.reserve("res_a", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).isPresent();

        // when globex's event carries acme's reservation id
        book.settle("globex", "res_a");

        // then the hold stays: a second 6 does not fit
        assertThat(book.open("acme", "acme|cap:budget|p")).isEqualByComparingTo("6");
        assertThat(book.reserve("res_b", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).isEmpty();
    }

    @Test
    void openHoldsAreKeptAsRunningSumsPerCustomer() {
        // given 20,000 open reservations of one customer
        for (int i = 0; i < 20_000; i++) {
            book.reserve("r" + i, "whale", 0, List.of(new ReservationBook.Hold("whale|cap:c|p", new BigDecimal("0.000001"), new BigDecimal("1000"))),
                    k -> BigDecimal.ZERO);
        }

        // then their sum is exact, another customer's book is empty, and releasing one subtracts exactly its amount
        assertThat(book.open("whale", "whale|cap:c|p")).isEqualByComparingTo("0.02");
        assertThat(book.open("acme", "acme|cap:budget|p")).isEqualByComparingTo("0");
        assertThat(book.release("whale", 0, "r0")).isTrue();
        assertThat(book.open("whale", "whale|cap:c|p")).isEqualByComparingTo("0.019999");
    }

    @Test
    void aRepeatedReservationIsTheSameOneAndHoldsOnce() {
        assertThat(book.reserve("r1", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).contains("r1");
        assertThat(book.reserve("r1", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).contains("r1");
        assertThat(book.open("acme", "acme|cap:budget|p")).isEqualByComparingTo("6");
    }

    @Test
    void aReleaseThatOvertakesItsReservationLeavesNothingHeld() {
        // the caller gave up on r1 and released it before its reservation arrived
        assertThat(book.release("acme", 0, "r1")).isFalse();

        // the late reservation holds nothing, and the whole cap is still there for others
        ReservationBook.Result late = book.reserve("r1", "acme", 0, hold("6"), k -> BigDecimal.ZERO);
        assertThat(late.spent()).isTrue();
        assertThat(book.open("acme", "acme|cap:budget|p")).isEqualByComparingTo("0");
        assertThat(book.reserve("r2", "acme", 0, hold("10"), k -> BigDecimal.ZERO).id()).contains("r2");

        // a released id stays spent for the hold timeout, then is forgotten
        now.set(now.get().plus(Duration.ofMinutes(10)));
        assertThat(book.reserve("r1", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).contains("r1");
    }

    @Test
    void aSettledReservationFreesItsHold() {
        assertThat(book.reserve("r1", "acme", 0, hold("6"), k -> BigDecimal.ZERO).id()).isPresent();
        book.settle("acme", "r1");
        assertThat(book.open("acme", "acme|cap:budget|p")).isEqualByComparingTo("0");
    }

    @Test
    void aTaskStartingOnAPartitionTakesItsOpenReservationsFromItsStoreAndNothingElse() {
        // given this instance remembers a hold of acme (partition 3) from when it last owned the partition
        assertThat(book.reserve("old", "acme", 3, hold("6"), k -> BigDecimal.ZERO).id()).isPresent();
        assertThat(book.reserve("other", "globex", 4, List.of(new ReservationBook.Hold("globex|cap:budget|p", BigDecimal.ONE, BigDecimal.TEN)),
                k -> BigDecimal.ZERO).id()).isPresent();

        // when the task of partition 3 starts here again with what its store kept (one reservation, the other owner's)
        book.restorePartition(3, List.of(new ReservationBook.Open("new", "acme", java.util.Map.of("acme|cap:budget|p", new BigDecimal("2")),
                now.get().plus(Duration.ofMinutes(5)))));

        // then acme holds exactly the stored reservation; another partition's customers are untouched
        assertThat(book.open("acme", "acme|cap:budget|p")).isEqualByComparingTo("2");
        assertThat(book.open("globex", "globex|cap:budget|p")).isEqualByComparingTo("1");
        // and an expired or released one is not brought back
        book.release("acme", 3, "gone");
        book.restore(3, new ReservationBook.Open("gone", "acme", java.util.Map.of("acme|cap:budget|p", BigDecimal.ONE), now.get().plus(Duration.ofMinutes(5))));
        book.restore(3, new ReservationBook.Open("late", "acme", java.util.Map.of("acme|cap:budget|p", BigDecimal.ONE), now.get()));
        assertThat(book.open("acme", "acme|cap:budget|p")).isEqualByComparingTo("2");
    }
}

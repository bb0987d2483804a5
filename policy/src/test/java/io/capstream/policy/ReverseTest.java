package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.Booking;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.Size;
import org.junit.jupiter.api.Test;

/** Taking an event back ({@link Booking#reverse}): the books as if it had never been booked. */
class ReverseTest {
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");
    static final PolicyDocument POLICY = PolicyLoader.fromYaml("""
            meters:
              requests: {price: "0.01"}
            plans:
              pro:
                price: "20"
                entitlements:
                  chat: {measure: USD, included: "10", period: billing, over: bill_overage}
            default_plan: pro
            """);

    static Cap cap(String id, boolean overageOnly, boolean ignoreGrants) {
        return new Cap(id, null, new BigDecimal("100"), Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"), Optional.empty(),
                overageOnly, ignoreGrants, Cap.DEFAULT_THRESHOLDS, LimitAction.BLOCK, false, Optional.empty());
    }

    static Customer customer(int promo, int prepaid) {
        Instant start = Instant.parse("2026-11-01T00:00:00Z");
        return new Customer("acme", "pro", ZoneId.of("UTC"), 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE,
                List.of(cap("all", false, false), cap("not-grants", false, true), cap("overage", true, false), cap("billed", true, true)),
                List.of(new Grant("promo", BigDecimal.valueOf(promo), "promotional", 1, start, Optional.empty(), Optional.empty()),
                        new Grant("prepaid", BigDecimal.valueOf(prepaid), "prepaid", 2, start, Optional.empty(), Optional.empty())));
    }

    /** Books events, keeping the totals as the aggregator's store does. */
    static final class Books {
        final Customer customer;
        final Map<String, Booking.Total> store = new HashMap<>();

        Books(Customer customer) {
            this.customer = customer;
        }

        static Booking.PricedUsage event(long requests) {
            Map<String, BigDecimal> usage = Map.of("requests", BigDecimal.valueOf(requests));
            return new Booking.PricedUsage("chat", null, null, null, NOW, usage, Pricing.cost(POLICY, null, usage));
        }

        Booking.Result book(Booking.PricedUsage e) {
            return keep(Booking.book(e, customer, customer.limits(POLICY.plan("pro")), this::get));
        }

        Booking.Result reverse(Booking.PricedUsage e, long count) {
            return keep(Booking.reverse(e, customer, customer.limits(POLICY.plan("pro")), this::get, count));
        }

        Optional<Booking.Total> get(String id, Instant start) {
            return Optional.ofNullable(store.get(id + "|" + start));
        }

        Booking.Result keep(Booking.Result r) {
            r.changed().forEach(t -> store.put(t.limitId() + "|" + t.period().start(), t));
            return r;
        }

        /** Every total's amounts, comparable across two books. */
        Map<String, List<String>> amounts() {
            Map<String, List<String>> out = new java.util.TreeMap<>();
            // a grant given back all it paid reads as one never burned
            store.forEach((k, t) -> { if (!(Booking.Total.GRANT.equals(t.kind()) && t.used().signum() == 0)) out.put(k, List.of(t.used().stripTrailingZeros().toPlainString(), t.cost().stripTrailingZeros().toPlainString(),
                    t.included().stripTrailingZeros().toPlainString(), t.grantCovered().stripTrailingZeros().toPlainString(),
                    t.billed().stripTrailingZeros().toPlainString(),
                    // how many events burned from a grant depends on which came first, not on what was used
                    Booking.Total.GRANT.equals(t.kind()) ? "-" : Long.toString(t.events()),
                    t.quantities().stream().map(q -> q.meter() + "=" + q.amount().stripTrailingZeros().toPlainString()).toList().toString())); });
            return out;
        }
    }

    @Test
    void voidingAnEventInTheMiddleGivesBackTheBilledPartFirstThenTheGrantsThenTheIncludedPart() {
        // $10 included, a $3 promotional grant: $8, $4, $3 → included 10, promo 3, billed 2
        Books books = new Books(customer(3, 0));
        books.book(Books.event(800));
        Booking.PricedUsage middle = Books.event(400);
        books.book(middle);
        books.book(Books.event(300));

        Booking.Result back = books.reverse(middle, -1);

        Booking.Total feature = books.get("feature:chat", Instant.parse("2026-11-01T00:00:00Z")).orElseThrow();
        assertThat(feature.cost()).isEqualByComparingTo("11");
        assertThat(feature.included()).isEqualByComparingTo("10");
        assertThat(feature.grantCovered()).isEqualByComparingTo("1");
        assertThat(feature.billed()).isEqualByComparingTo("0");
        assertThat(feature.events()).isEqualTo(2);
        assertThat(books.get("grant:promo", Instant.parse("2026-11-01T00:00:00Z")).orElseThrow().used()).isEqualByComparingTo("1");
        assertThat(books.get("cap:billed", Instant.parse("2026-11-01T00:00:00Z")).orElseThrow().used()).isEqualByComparingTo("0");
        assertThat(books.get("cap:all", Instant.parse("2026-11-01T00:00:00Z")).orElseThrow().used()).isEqualByComparingTo("11");
        assertThat(back.crossings()).isEmpty();
    }

    @Property(tries = 300)
    void takingAnyEventBackLeavesTheBooksOfTheOthers(@ForAll @Size(min = 1, max = 8) List<@IntRange(min = 0, max = 900) Integer> requests,
                                                      @ForAll @IntRange(min = 0, max = 7) int pick,
                                                      @ForAll @IntRange(min = 0, max = 5) int promo, @ForAll @IntRange(min = 0, max = 5) int prepaid) {
        int k = pick % requests.size();
        Books all = new Books(customer(promo, prepaid));
        Books without = new Books(customer(promo, prepaid));
        for (int i = 0; i < requests.size(); i++) {
            all.book(Books.event(requests.get(i)));
            if (i != k) {
                without.book(Books.event(requests.get(i)));
            }
        }
        all.reverse(Books.event(requests.get(k)), -1);

        Map<String, List<String>> expected = new HashMap<>(without.amounts());
        Map<String, List<String>> actual = new HashMap<>(all.amounts());
        // a total that only the taken-back event created remains, at zero
        actual.keySet().removeIf(key -> !expected.containsKey(key) && all.store.get(key).events() == 0);
        assertThat(normalise(actual)).isEqualTo(normalise(expected));
    }

    @Property(tries = 300)
    void eachThresholdIsCrossedOnceAPeriodHoweverUsageIsTakenBackAndBookedAgain(
            @ForAll @Size(min = 1, max = 12) List<@IntRange(min = 0, max = 6000) Integer> requests, @ForAll @Size(max = 12) List<@IntRange(min = 0, max = 11) Integer> voids) {
        // each request $0.01; a cap of $100 with thresholds at 80, 90, 100 %, voids in between bookings
        Books books = new Books(customer(0, 0));
        List<Booking.PricedUsage> booked = new ArrayList<>();
        List<String> crossed = new ArrayList<>();
        for (int i = 0; i < requests.size(); i++) {
            Booking.PricedUsage e = Books.event(requests.get(i));
            books.book(e).crossings().forEach(c -> crossed.add(c.limit().limitId() + " " + c.threshold().stripTrailingZeros()));
            booked.add(e);
            if (i < voids.size() && !booked.isEmpty()) {
                books.reverse(booked.remove(voids.get(i) % booked.size()), -1).crossings()
                        .forEach(c -> crossed.add("downward " + c.limit().limitId() + " " + c.threshold()));
            }
        }
        assertThat(crossed).doesNotHaveDuplicates().noneMatch(c -> c.startsWith("downward"));
    }

    /** Thresholds crossed are not compared: a void does not notify downward, so they may differ (amounts() leaves them out). */
    private static Map<String, List<String>> normalise(Map<String, List<String>> amounts) {
        Map<String, List<String>> out = new java.util.TreeMap<>();
        amounts.forEach((k, v) -> out.put(k, new ArrayList<>(v)));
        return out;
    }
}

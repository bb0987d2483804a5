package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.Booking;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.LimitIds;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** A customer's features beyond {@link Booking#MAX_FEATURE_TOTALS} in a billing period share one total ({@link Booking#totalFeature}). */
class FeatureTotalsTest {
    static final Instant NOV_1 = Instant.parse("2026-11-01T00:00:00Z");

    static Customer customer(List<Cap> caps, List<Grant> grants) {
        return new Customer("acme", "pro", ZoneId.of("UTC"), 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE, caps, grants);
    }

    /** A $1 cap on one feature. */
    static Cap capOn(String feature) {
        return new Cap("on-" + feature, null, BigDecimal.ONE, Measure.USD, new CapFilter(feature, null, null, null), ResetSchedule.parse("billing"),
                Optional.empty(), false, false, Cap.DEFAULT_THRESHOLDS, LimitAction.BLOCK, false, Optional.empty());
    }

    /** Books an event of {@code feature} as the aggregator does: its total feature first, counting the period's own feature totals. */
    static Booking.Result book(ReverseTest.Books books, String feature, long requests) {
        Map<String, BigDecimal> usage = Map.of("requests", BigDecimal.valueOf(requests));
        List<Limit> limits = books.customer.limits(ReverseTest.POLICY.plan("pro"));
        String total = Booking.totalFeature(feature, books.customer, limits, NOV_1, books::get, () -> kept(books), true);
        return books.keep(Booking.book(new Booking.PricedUsage(feature, null, null, null, ReverseTest.NOW, usage,
                Pricing.cost(ReverseTest.POLICY, null, usage), total), books.customer, limits, books::get));
    }

    static int kept(ReverseTest.Books books) {
        return (int) books.store.values().stream().filter(t -> Booking.Total.FEATURE.equals(t.kind()) && !Booking.OTHER_FEATURE.equals(t.feature())).count();
    }

    static Optional<Booking.Total> feature(ReverseTest.Books books, String feature) {
        return books.get(LimitIds.feature(feature), NOV_1);
    }

    @Test
    void theFirstHundredFeaturesKeepTotalsOfTheirOwnAndLaterOnesShareOneWhileLimitsStillSeeTheEventsFeature() {
        ReverseTest.Books books = new ReverseTest.Books(customer(List.of(capOn("f_150")), List.of(
                new Grant("promo", new BigDecimal("0.01"), "promotional", 1, NOV_1, Optional.empty(), Optional.of("f_160")))));
        for (int i = 0; i < 200; i++) {
            book(books, "f_" + i, 1);
        }
        book(books, "f_5", 2); // a kept feature stays its own

        assertThat(kept(books)).as("a hundred of the customer's own, and the two its cap and grant name").isEqualTo(Booking.MAX_FEATURE_TOTALS + 2);
        assertThat(feature(books, "f_99")).isPresent();
        assertThat(feature(books, "f_100")).isEmpty();
        assertThat(feature(books, "f_150")).isPresent();
        assertThat(feature(books, "f_160")).isPresent();
        assertThat(feature(books, "f_5").orElseThrow().events()).isEqualTo(2);
        Booking.Total other = feature(books, Booking.OTHER_FEATURE).orElseThrow();
        assertThat(other.events()).isEqualTo(98);
        assertThat(other.cost()).isEqualByComparingTo("0.98");
        // the cap on f_150 counted its event although f_150 came after the hundredth feature
        assertThat(books.get("cap:on-f_150", NOV_1).orElseThrow().used()).isEqualByComparingTo("0.01");
    }

    @Test
    void takingBackNeverOpensAFeatureTotal() {
        ReverseTest.Books books = new ReverseTest.Books(customer(List.of(), List.of()));
        book(books, "kept", 1);
        List<Limit> limits = books.customer.limits(ReverseTest.POLICY.plan("pro"));
        assertThat(Booking.totalFeature("kept", books.customer, limits, NOV_1, books::get, () -> 0, false)).isEqualTo("kept");
        assertThat(Booking.totalFeature("never", books.customer, limits, NOV_1, books::get, () -> 0, false)).isEqualTo(Booking.OTHER_FEATURE);
        // chat is the plan's entitlement: named, its own whether or not it has a total
        assertThat(Booking.totalFeature("chat", books.customer, limits, NOV_1, books::get, () -> Booking.MAX_FEATURE_TOTALS, false)).isEqualTo("chat");
    }

    @Property(tries = 50)
    void theFeatureTotalsOfAPeriodAddUpToItsEventsWhateverTheFeatures(@ForAll @IntRange(min = 1, max = 400) int events,
                                                                       @ForAll @IntRange(min = 1, max = 300) int features) {
        ReverseTest.Books books = new ReverseTest.Books(customer(List.of(), List.of()));
        long requests = 0;
        for (int i = 0; i < events; i++) {
            long n = 1 + (i * 7L) % 13;
            book(books, "f_" + (i * 31) % features, n);
            requests += n;
        }
        List<Booking.Total> totals = books.store.values().stream().filter(t -> Booking.Total.FEATURE.equals(t.kind())).toList();
        assertThat(totals.stream().map(Booking.Total::cost).reduce(BigDecimal.ZERO, BigDecimal::add))
                .isEqualByComparingTo(new BigDecimal("0.01").multiply(BigDecimal.valueOf(requests)));
        assertThat(totals.stream().mapToLong(Booking.Total::events).sum()).isEqualTo(events);
        assertThat(totals).hasSizeLessThanOrEqualTo(Booking.MAX_FEATURE_TOTALS + 1);
    }

    @Property(tries = 30)
    void eventsTakenBackWhereTheyWereTotalledLeaveEveryFeatureTotalAtZero(@ForAll @IntRange(min = 1, max = 300) int events,
                                                                         @ForAll @IntRange(min = 90, max = 300) int features,
                                                                         @ForAll @IntRange(min = 1, max = 1000) int seed) {
        ReverseTest.Books books = new ReverseTest.Books(customer(List.of(), List.of()));
        java.util.Random random = new java.util.Random(seed);
        List<Booking.PricedUsage> booked = new java.util.ArrayList<>();
        List<Limit> limits = books.customer.limits(ReverseTest.POLICY.plan("pro"));
        for (int i = 0; i < events; i++) {
            String feature = "f_" + random.nextInt(features);
            Map<String, BigDecimal> usage = Map.of("requests", BigDecimal.valueOf(1 + random.nextInt(50)));
            Booking.PricedUsage e = new Booking.PricedUsage(feature, null, null, null, ReverseTest.NOW, usage, Pricing.cost(ReverseTest.POLICY, null, usage));
            String total = Booking.totalFeature(feature, books.customer, limits, NOV_1, books::get, () -> kept(books), true);
            books.keep(Booking.book(withTotal(e, total), books.customer, limits, books::get));
            booked.add(e);
        }
        java.util.Collections.shuffle(booked, random);
        for (Booking.PricedUsage e : booked) { // voids in any order, each where its event was totalled
            String total = Booking.totalFeature(e.feature(), books.customer, limits, NOV_1, books::get, () -> kept(books), false);
            books.keep(Booking.reverse(withTotal(e, total), books.customer, limits, books::get, -1));
        }
        assertThat(books.store.values()).filteredOn(t -> Booking.Total.FEATURE.equals(t.kind())).allSatisfy(t -> {
            assertThat(t.cost()).as(t.feature()).isZero();
            assertThat(t.events()).as(t.feature()).isZero();
        });
    }

    static Booking.PricedUsage withTotal(Booking.PricedUsage e, String totalFeature) {
        return new Booking.PricedUsage(e.feature(), e.model(), e.user(), e.apiKey(), e.time(), e.usage(), e.cost(), totalFeature);
    }
}

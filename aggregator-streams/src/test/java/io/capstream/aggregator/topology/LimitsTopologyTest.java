package io.capstream.aggregator.topology;

import static io.capstream.aggregator.topology.TopologyFixture.event;
import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.ThresholdCrossed;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Plans, grants, caps, thresholds and final period totals through the production topology. */
class LimitsTopologyTest {
    static final String POLICY = """
            models:
              gpt-4o: {prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
            meters:
              requests: {price: "1"}
            plans:
              pro:
                price: "20"
                entitlements:
                  chat: {measure: USD, included: "10", period: billing, over: bill_overage}
            default_plan: pro
            links:
              raise_cap: "https://example.com/caps?customer={customer}&limit={limit}"
              upgrade: "https://example.com/upgrade?customer={customer}"
            """;
    static final Instant T0 = Instant.parse("2026-11-21T10:00:00Z");
    static final Instant NOV_1 = Instant.parse("2026-11-01T00:00:00Z");

    final TopologyFixture f = new TopologyFixture(POLICY);

    @AfterEach
    void stop() {
        f.close();
    }

    static Cap cap(String id, String amount, boolean overageOnly, boolean ignoreGrants) {
        return new Cap(id, null, new BigDecimal(amount), Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"), Optional.empty(),
                overageOnly, ignoreGrants, Cap.DEFAULT_THRESHOLDS, LimitAction.BLOCK, false, Optional.empty());
    }

    static Customer customer(List<Cap> caps, List<Grant> grants) {
        return new Customer("acme", "pro", ZoneId.of("UTC"), 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE, caps, grants);
    }

    static final Grant PROMO = new Grant("promo", new BigDecimal("3"), "promotional", 1, NOV_1, Optional.empty(), Optional.empty());

    @Test
    void includedUsageAPromotionalGrantAndBilledOverageCountInEachCapAsTheDesignTableSays() {
        // given $10 included in the plan, a $3 promotional grant and one cap of each kind
        f.configure(customer(List.of(cap("all", "100", false, false), cap("not-grants", "100", false, true),
                cap("overage", "100", true, false), cap("billed", "100", true, true)), List.of(PROMO)), T0);
        // when $8 then $7 of chat: c = 15, i = 10, o = 5, g = 3, b = 2
        f.send(event("e1", "acme", "chat", null, T0, Map.of("requests", 8L)), T0);
        f.send(event("e2", "acme", "chat", null, T0, Map.of("requests", 7L)), T0);
        // then
        assertThat(f.limit("acme", "cap:all", NOV_1).getUsed()).isEqualByComparingTo("15");
        assertThat(f.limit("acme", "cap:not-grants", NOV_1).getUsed()).isEqualByComparingTo("12");
        assertThat(f.limit("acme", "cap:overage", NOV_1).getUsed()).isEqualByComparingTo("5");
        assertThat(f.limit("acme", "cap:billed", NOV_1).getUsed()).isEqualByComparingTo("2");
        assertThat(f.limit("acme", "entitlement:chat", NOV_1).getUsed()).isEqualByComparingTo("15");
        assertThat(f.limit("acme", "grant:promo", NOV_1).getUsed()).isEqualByComparingTo("3");

        // and once the billing period has closed (end + late window), one final total with the split
        f.send(event("dec", "acme", "chat", null, Instant.parse("2026-12-02T01:00:00Z"), Map.of("requests", 1L)),
                Instant.parse("2026-12-02T01:00:00Z"));
        List<PeriodTotal> totals = f.totals.readValuesToList();
        assertThat(totals).singleElement().satisfies(t -> {
            assertThat(t.getCost()).isEqualByComparingTo("15");
            assertThat(t.getIncluded()).isEqualByComparingTo("10");
            assertThat(t.getGrantCovered()).isEqualByComparingTo("3");
            assertThat(t.getBilled()).isEqualByComparingTo("2");
            assertThat(t.getEvents()).isEqualTo(2);
        });
    }

    @Test
    void eachThresholdIsEmittedOnceAndOneEventCanCrossSeveral() {
        f.configure(customer(List.of(cap("spend", "10", false, false)), List.of()), T0);

        f.send(event("a", "acme", "chat", null, T0, Map.of("requests", 9L)), T0);   // 90 %: crosses 0.8 and 0.9
        f.send(event("b", "acme", "chat", null, T0, Map.of("requests", 0L)), T0);   // still 90 %: nothing
        f.send(event("c", "acme", "chat", null, T0, Map.of("requests", 2L)), T0);   // 110 %: crosses 1

        List<ThresholdCrossed> crossings = f.thresholds.readValuesToList().stream().filter(t -> t.getLimitId().equals("cap:spend")).toList();
        assertThat(crossings).extracting(ThresholdCrossed::getThreshold).containsExactly("0.8", "0.9", "1");
        assertThat(crossings.get(2).getRaiseCapUrl()).isEqualTo("https://example.com/caps?customer=acme&limit=cap%3Aspend");
        assertThat(crossings.get(2).getResetsAt()).isEqualTo("2026-12-01T00:00Z");
        assertThat(crossings.get(2).getUsed()).isEqualByComparingTo("11");
    }

    @Test
    void aRaisedCapReArmsItsThresholdsAndALoweredOneCrossesAtOnce() {
        f.configure(customer(List.of(cap("spend", "10", false, false)), List.of()), T0);
        f.send(event("a", "acme", "chat", null, T0, Map.of("requests", 9L)), T0);
        assertThat(f.thresholds.readValuesToList()).filteredOn(t -> t.getLimitId().equals("cap:spend")).extracting(ThresholdCrossed::getId)
                .containsExactly("acme|cap:spend|" + NOV_1 + "|0.8|10", "acme|cap:spend|" + NOV_1 + "|0.9|10");

        f.configure(customer(List.of(cap("spend", "20", false, false)), List.of()), T0.plusSeconds(1)); // 9 of 20: re-arms 0.8, 0.9
        assertThat(f.limit("acme", "cap:spend", NOV_1).getThresholdsCrossed()).isEmpty();
        assertThat(f.limit("acme", "cap:spend", NOV_1).getLimit()).isEqualByComparingTo("20");
        f.send(event("b", "acme", "chat", null, T0, Map.of("requests", 8L)), T0.plusSeconds(2)); // 17 of 20: 0.8 again
        // a new notification, with an id of its own (a receiver dropping the ids it has seen would drop a repeat of the first)
        assertThat(f.thresholds.readValuesToList()).filteredOn(t -> t.getLimitId().equals("cap:spend"))
                .extracting(ThresholdCrossed::getId).containsExactly("acme|cap:spend|" + NOV_1 + "|0.8|20");

        f.configure(customer(List.of(cap("spend", "15", false, false)), List.of()), T0.plusSeconds(3)); // 17 of 15
        assertThat(f.thresholds.readValuesToList()).filteredOn(t -> t.getLimitId().equals("cap:spend"))
                .extracting(ThresholdCrossed::getThreshold).containsExactly("0.9", "1");
    }

    @Test
    void aDailyCapInKolkataSplitsUsageAtLocalMidnight() {
        Cap daily = new Cap("daily", null, new BigDecimal("100"), Measure.USD, CapFilter.ALL, ResetSchedule.parse("daily"),
                Optional.of(ZoneId.of("Asia/Kolkata")), false, false, Cap.DEFAULT_THRESHOLDS, LimitAction.NOTIFY, false, Optional.empty());
        f.configure(customer(List.of(daily), List.of()), T0);

        f.send(event("before", "acme", "chat", null, Instant.parse("2026-11-21T18:29:59Z"), Map.of("requests", 1L)), T0.plus(Duration.ofHours(9)));
        f.send(event("after", "acme", "chat", null, Instant.parse("2026-11-21T18:30:00Z"), Map.of("requests", 2L)), T0.plus(Duration.ofHours(9)));

        assertThat(f.limit("acme", "cap:daily", Instant.parse("2026-11-20T18:30:00Z")).getUsed()).isEqualByComparingTo("1");
        assertThat(f.limit("acme", "cap:daily", Instant.parse("2026-11-21T18:30:00Z")).getUsed()).isEqualByComparingTo("2");
    }

    @Test
    void capsFilteredByUserCountOnlyThatUser() {
        Cap alice = new Cap("alice", null, new BigDecimal("5"), Measure.USD, new CapFilter(null, null, "alice", null),
                ResetSchedule.parse("billing"), Optional.empty(), false, false, Cap.DEFAULT_THRESHOLDS, LimitAction.BLOCK, false, Optional.empty());
        f.configure(customer(List.of(alice), List.of()), T0);
        f.send(io.capstream.schemas.UsageEvent.newBuilder(event("a", "acme", "chat", null, T0, Map.of("requests", 2L))).setUser("alice").build(), T0);
        f.send(io.capstream.schemas.UsageEvent.newBuilder(event("b", "acme", "chat", null, T0, Map.of("requests", 3L))).setUser("bob").build(), T0);

        assertThat(f.limit("acme", "cap:alice", NOV_1).getUsed()).isEqualByComparingTo("2");
    }

    @Test
    void aCapSetMidPeriodStartsFromTheSpendSoFarAndCrossesAtOnce() {
        f.configure(customer(List.of(), List.of()), T0);
        f.send(event("a", "acme", "chat", null, T0, Map.of("requests", 12L)), T0);  // $12: $10 included, $2 over

        f.configure(customer(List.of(cap("budget", "14", false, false), cap("overage", "100", true, false)), List.of()), T0.plusSeconds(1));

        assertThat(f.limit("acme", "cap:budget", NOV_1).getUsed()).isEqualByComparingTo("12");
        assertThat(f.limit("acme", "cap:overage", NOV_1).getUsed()).isEqualByComparingTo("2");
        assertThat(f.thresholds.readValuesToList()).filteredOn(t -> t.getLimitId().equals("cap:budget"))
                .extracting(ThresholdCrossed::getThreshold).containsExactly("0.8");
    }
}

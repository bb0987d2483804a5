package io.capstream.aggregator.topology;

import static io.capstream.aggregator.topology.LimitsTopologyTest.NOV_1;
import static io.capstream.aggregator.topology.LimitsTopologyTest.PROMO;
import static io.capstream.aggregator.topology.LimitsTopologyTest.cap;
import static io.capstream.aggregator.topology.LimitsTopologyTest.customer;
import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.schemas.BillingAdjustment;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Voids, replacements and negative adjustments through the production topology: the books as if the original had been what the amendment says. */
class AmendmentsTopologyTest {
    static final Instant T0 = LimitsTopologyTest.T0;
    static final Instant OCT_1 = Instant.parse("2026-10-01T00:00:00Z");

    TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY);

    @AfterEach
    void stop() {
        f.close();
    }

    static UsageEvent requests(String id, Instant time, long dollars) {
        return TopologyFixture.event(id, "acme", "chat", null, time, Map.of("requests", dollars));
    }

    static UsageEvent voiding(String id, Instant at) {
        return UsageEvent.newBuilder().setId(id).setSource("svc").setCustomer("acme").setFeature("").setTime(at).setUsage(List.of())
                .setAmendment("void").setReason("double-reported").build();
    }

    static UsageEvent replacing(String id, Instant time, long dollars) {
        return UsageEvent.newBuilder(requests(id, time, dollars)).setAmendment("replace").setReason("corrected count").build();
    }

    LimitUsage total(String limitId) {
        return f.limit("acme", limitId, NOV_1);
    }

    List<String> deadReasons() {
        return f.dlq.readRecordsToList().stream()
                .map(r -> new String(r.headers().lastHeader(DeadLetterHandler.REASON).value(), StandardCharsets.UTF_8)).toList();
    }

    @Test
    void replacingBackAndForthAppliesEachReplacementAndARetryOfTheOneInForceChangesNothing() {
        f.configure(customer(List.of(), List.of()), T0);
        f.send(requests("e1", T0, 2), T0);
        f.send(replacing("e1", T0, 5), T0.plusSeconds(10)); // $2 by $5
        f.send(replacing("e1", T0, 2), T0.plusSeconds(20)); // back to $2
        f.send(replacing("e1", T0, 5), T0.plusSeconds(30)); // and to $5 again: not a copy of the first
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("5");
        assertThat(total("feature:chat").getEvents()).isEqualTo(1);

        f.send(replacing("e1", T0, 5), T0.plusSeconds(40)); // a retry of the one in force
        f.send(voiding("e1", T0.plusSeconds(50)), T0.plusSeconds(50));
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("0");
        assertThat(total("feature:chat").getEvents()).isZero();
        assertThat(deadReasons()).isEmpty();
    }

    @Test
    void voidAndReplaceChangeTotalsCapsAndGrantBalancesExactlyAndEachAmendmentCountsOnce() {
        // $10 included, a $3 promotional grant, a $20 cap: $8 + $4 + $3 → included 10, promo 3, billed 2
        f.configure(customer(List.of(cap("spend", "20", false, false)), List.of(PROMO)), T0);
        f.send(requests("e1", T0, 8), T0);
        f.send(requests("e2", T0, 4), T0);
        f.send(requests("e3", T0, 3), T0);

        // void e2: as if it had never been: included 10, promo 1, billed 0
        f.send(voiding("e2", T0.plusSeconds(60)), T0.plusSeconds(60));
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("11");
        assertThat(total("feature:chat").getIncluded()).isEqualByComparingTo("10");
        assertThat(total("feature:chat").getGrantCovered()).isEqualByComparingTo("1");
        assertThat(total("feature:chat").getBilled()).isEqualByComparingTo("0");
        assertThat(total("feature:chat").getEvents()).isEqualTo(2);
        assertThat(total("grant:promo").getUsed()).isEqualByComparingTo("1");
        assertThat(total("cap:spend").getUsed()).isEqualByComparingTo("11");

        // replace e3 ($3) by $6: $8 + $6 → included 10, promo 3, billed 1
        f.send(replacing("e3", T0, 6), T0.plusSeconds(120));
        f.send(replacing("e3", T0, 6), T0.plusSeconds(130)); // the same replacement again: nothing more
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("14");
        assertThat(total("feature:chat").getIncluded()).isEqualByComparingTo("10");
        assertThat(total("feature:chat").getGrantCovered()).isEqualByComparingTo("3");
        assertThat(total("feature:chat").getBilled()).isEqualByComparingTo("1");
        assertThat(total("feature:chat").getEvents()).isEqualTo(2);
        assertThat(total("feature:chat").getQuantities()).singleElement().satisfies(q -> assertThat(q.getQuantity()).isEqualByComparingTo("14"));
        assertThat(total("grant:promo").getUsed()).isEqualByComparingTo("3");
        assertThat(total("cap:spend").getUsed()).isEqualByComparingTo("14");

        // the replacement is what a later void takes back: $6
        f.send(voiding("e3", T0.plusSeconds(180)), T0.plusSeconds(180));
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("8");
        assertThat(total("feature:chat").getIncluded()).isEqualByComparingTo("8");
        assertThat(total("feature:chat").getBilled()).isEqualByComparingTo("0");
        assertThat(total("grant:promo").getUsed()).isEqualByComparingTo("0");
        assertThat(total("cap:spend").getUsed()).isEqualByComparingTo("8");

        // the void sent again (a retry: dropped by its own id), a replacement of the voided event, a void of an id never
        // booked, and the voided event sent again change nothing
        f.send(voiding("e2", T0.plusSeconds(240)), T0.plusSeconds(240));
        f.send(replacing("e2", T0, 1), T0.plusSeconds(245));
        f.send(voiding("never", T0.plusSeconds(250)), T0.plusSeconds(250));
        f.send(requests("e2", T0, 4), T0.plusSeconds(260));
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("8");
        assertThat(deadReasons()).satisfiesExactly(
                r -> assertThat(r).contains("was voided already"),
                r -> assertThat(r).contains("no event 'never' from source 'svc' of customer acme was booked within the dedup window"));
    }

    @Test
    void aCapBackBelowItsLimitIsWrittenForTheSidecarsAndNothingIsNotifiedDownwardNorAgainWhenUsageRisesOnceMore() {
        f.configure(customer(List.of(cap("spend", "10", false, false)), List.of()), T0);
        f.send(requests("a", T0, 8), T0);
        f.send(requests("b", T0, 4), T0); // $12 of $10: 100 % crossed
        assertThat(f.thresholds.readValuesToList()).extracting(t -> t.getLimitId() + " " + t.getThreshold()).contains("cap:spend 1");
        f.aggregates.readValuesToList();

        f.send(voiding("b", T0.plusSeconds(60)), T0.plusSeconds(60));

        // usage-aggregates carries the cap at $8 of $10 (what the sidecars refuse by); no threshold event goes out
        assertThat(f.aggregates.readValuesToList()).filteredOn(r -> r.getLimitId().equals("cap:spend"))
                .singleElement().satisfies(r -> assertThat(r.getUsed()).isEqualByComparingTo("8"));
        assertThat(f.thresholds.readValuesToList()).isEmpty();

        // usage that takes it past 100 % again, a replacement of a by more, and more usage still: each threshold was notified
        // once this period already (it was "b at 100 %" twice, then 80 % and 90 % again after a replacement taking $8 back)
        f.send(requests("c", T0, 3), T0.plusSeconds(70));
        f.send(replacing("a", T0, 9), T0.plusSeconds(80));
        f.send(requests("d", T0, 1), T0.plusSeconds(90));
        assertThat(f.limit("acme", "cap:spend", NOV_1).getUsed()).isEqualByComparingTo("13");
        assertThat(f.thresholds.readValuesToList()).isEmpty();
        assertThat(f.limit("acme", "cap:spend", NOV_1).getThresholdsCrossed()).containsExactly("0.8", "0.9", "1");
    }

    @Test
    void aNegativeAdjustmentWithAReasonTakesUsageBackAsAnEventOfItsOwn() {
        f.configure(customer(List.of(), List.of()), T0);
        f.send(requests("a", T0, 12), T0); // included 10, billed 2
        UsageEvent credit = UsageEvent.newBuilder(requests("credit-1", T0, 0)).setReason("outage credit")
                .setUsage(List.of(new Quantity("requests", null, new BigDecimal("-3").setScale(9)))).build();
        f.send(credit, T0.plusSeconds(60));
        f.send(credit, T0.plusSeconds(70)); // its id is deduplicated like any event's

        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("9");
        assertThat(total("feature:chat").getBilled()).isEqualByComparingTo("0");
        assertThat(total("feature:chat").getIncluded()).isEqualByComparingTo("9");
        assertThat(total("feature:chat").getEvents()).isEqualTo(2);
        assertThat(total("entitlement:chat").getUsed()).isEqualByComparingTo("9");

        // taking back more than was booked is refused whole
        f.send(UsageEvent.newBuilder(credit).setId("credit-2").setUsage(List.of(new Quantity("requests", null, new BigDecimal("-10").setScale(9)))).build(),
                T0.plusSeconds(80));
        // and a producer writing to usage-events directly cannot take usage back without a reason
        f.send(UsageEvent.newBuilder(credit).setId("credit-3").setReason(null).build(), T0.plusSeconds(90));
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("9");
        assertThat(deadReasons()).satisfiesExactly(
                r -> assertThat(r).contains("hold less than"),
                r -> assertThat(r).contains("only accepted in an adjustment"));
    }

    @Test
    void theUsageSeriesTakeAnAmendedEventBackFromItsBucketsAndStillAddUpToTheRunningTotals() {
        // $10 included, then a $3 grant: $8 + $4 + $3 in one hour and one combination
        f.configure(customer(List.of(), List.of(PROMO)), T0);
        f.send(requests("e1", T0, 8), T0);
        f.send(requests("e2", T0.plusSeconds(60), 4), T0.plusSeconds(60));
        f.send(requests("e3", T0.plusSeconds(120), 3), T0.plusSeconds(120));
        // e3 replaced by $6 in the same hour (its old and new version change one bucket), e2 moved to the next hour, $1 taken back
        f.send(replacing("e3", T0.plusSeconds(120), 6), T0.plusSeconds(180));
        f.send(replacing("e2", T0.plus(Duration.ofHours(1)), 4), T0.plus(Duration.ofHours(1)));
        f.send(UsageEvent.newBuilder(requests("credit", T0.plusSeconds(300), 0)).setReason("outage credit")
                .setUsage(List.of(new Quantity("requests", null, new BigDecimal("-1").setScale(9)))).build(), T0.plusSeconds(300));
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("17");
        assertThat(total("feature:chat").getEvents()).isEqualTo(4); // e1, e2, e3 and the credit
        assertSeriesAddUpToTheFeatureTotal();
        assertThat(f.series(io.capstream.policy.booking.Series.Granularity.HOUR, "acme", NOV_1, DEC_1))
                .extracting(kv -> kv.bucket().start() + " " + kv.usage().getCost().stripTrailingZeros().toPlainString() + " " + kv.usage().getEvents())
                .containsExactlyInAnyOrder(T0 + " 13 3", T0.plus(Duration.ofHours(1)) + " 4 1");

        // once the day is rolled up, a replacement that moves an event within it, and a void, change the day once each
        f.driver.advanceWallClockTime(Duration.between(Instant.parse("2026-11-01T00:00:00Z"), Instant.parse("2026-11-22T01:05:00Z")));
        assertThat(f.rolledUpDays("acme", NOV_1, DEC_1)).isNotEmpty();
        f.send(replacing("e1", T0.plus(Duration.ofHours(5)), 2), Instant.parse("2026-11-22T01:10:00Z"));
        f.send(voiding("e3", Instant.parse("2026-11-22T01:20:00Z")), Instant.parse("2026-11-22T01:20:00Z"));
        assertThat(total("feature:chat").getCost()).isEqualByComparingTo("5");
        assertThat(total("feature:chat").getEvents()).isEqualTo(3);
        assertSeriesAddUpToTheFeatureTotal();
        assertThat(f.rolledUpDays("acme", NOV_1, DEC_1)).singleElement().satisfies(d -> {
            assertThat(d.usage().getCost()).isEqualByComparingTo("5");
            assertThat(d.usage().getEvents()).isEqualTo(3);
        });
        assertThat(deadReasons()).isEmpty();
    }

    static final Instant DEC_1 = Instant.parse("2026-12-01T00:00:00Z");

    /** The hours and the days of November add up to the chat total exactly: cost, its split, events and quantity. */
    void assertSeriesAddUpToTheFeatureTotal() {
        LimitUsage chat = total("feature:chat");
        for (var granularity : io.capstream.policy.booking.Series.Granularity.values()) {
            var buckets = f.series(granularity, "acme", NOV_1, DEC_1);
            assertThat(buckets.stream().map(b -> b.usage().getCost()).reduce(BigDecimal.ZERO, BigDecimal::add)).as(granularity + " cost")
                    .isEqualByComparingTo(chat.getCost());
            assertThat(buckets.stream().map(b -> b.usage().getIncluded()).reduce(BigDecimal.ZERO, BigDecimal::add)).as(granularity + " included")
                    .isEqualByComparingTo(chat.getIncluded());
            assertThat(buckets.stream().map(b -> b.usage().getGrantCovered()).reduce(BigDecimal.ZERO, BigDecimal::add)).as(granularity + " grants")
                    .isEqualByComparingTo(chat.getGrantCovered());
            assertThat(buckets.stream().map(b -> b.usage().getBilled()).reduce(BigDecimal.ZERO, BigDecimal::add)).as(granularity + " billed")
                    .isEqualByComparingTo(chat.getBilled());
            assertThat(buckets.stream().mapToLong(b -> b.usage().getEvents()).sum()).as(granularity + " events").isEqualTo(chat.getEvents());
            assertThat(buckets.stream().flatMap(b -> b.usage().getQuantities().stream()).map(Quantity::getQuantity).reduce(BigDecimal.ZERO, BigDecimal::add))
                    .as(granularity + " requests").isEqualByComparingTo(chat.getCost()); // $1 a request
        }
    }

    @Test
    void aVoidOfAnEventInAPeriodAlreadyFinalIsANegativeAdjustmentAndTheFinalTotalStays() {
        f.close();
        f = new TopologyFixture(LimitsTopologyTest.POLICY, UsageTopology.SeriesRetention.DEFAULT, Map.of(),
                new EventTimeWindow(Duration.ofDays(35), Duration.ofDays(3)));
        f.configure(customer(List.of(), List.of()), OCT_1);
        f.send(requests("oct", Instant.parse("2026-10-20T10:00:00Z"), 12), Instant.parse("2026-10-20T10:00:00Z"));
        f.send(requests("nov", Instant.parse("2026-11-05T10:00:00Z"), 1), Instant.parse("2026-11-05T10:00:00Z")); // October final: $12
        assertThat(f.totals.readValuesToList()).singleElement().satisfies(t -> assertThat(t.getCost()).isEqualByComparingTo("12"));

        f.send(voiding("oct", Instant.parse("2026-11-06T10:00:00Z")), Instant.parse("2026-11-06T10:00:00Z"));

        List<TestRecord<String, BillingAdjustment>> adjustments = f.adjustments.readRecordsToList();
        assertThat(adjustments).singleElement().satisfies(r -> {
            assertThat(r.key()).isEqualTo("acme|chat|" + OCT_1);
            assertThat(r.value().getKind()).isEqualTo("void");
            assertThat(r.value().getCost()).isEqualByComparingTo("-12");
            assertThat(r.value().getIncluded()).isEqualByComparingTo("-10");
            assertThat(r.value().getBilled()).isEqualByComparingTo("-2");
            assertThat(r.value().getEvents()).isEqualTo(-1);
            assertThat(r.value().getReason()).contains("voided").contains("double-reported");
            assertThat(r.value().getQuantities()).singleElement().satisfies(q -> assertThat(q.getQuantity()).isEqualByComparingTo("-12"));
        });
        assertThat(f.totals.readValuesToList()).isEmpty();
    }
}

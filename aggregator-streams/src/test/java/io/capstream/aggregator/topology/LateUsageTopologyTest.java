package io.capstream.aggregator.topology;

import static io.capstream.aggregator.topology.TopologyFixture.event;
import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.schemas.BillingAdjustment;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.UsageEvent;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Backdating up to 35 days, dedup for as long, and late usage for a period already final (billing-adjustments). */
class LateUsageTopologyTest {
    static final Instant OCT_1 = Instant.parse("2026-10-01T00:00:00Z");
    static final Instant NOV_1 = Instant.parse("2026-11-01T00:00:00Z");

    TopologyFixture f;

    @AfterEach
    void stop() {
        f.close();
    }

    TopologyFixture fixture(EventTimeWindow window) {
        f = new TopologyFixture(LimitsTopologyTest.POLICY, UsageTopology.SeriesRetention.DEFAULT, Map.of(), window);
        f.configure(LimitsTopologyTest.customer(List.of(), List.of()), OCT_1);
        return f;
    }

    static UsageEvent requests(String id, Instant time, long dollars) {
        return event(id, "acme", "chat", null, time, Map.of("requests", dollars));
    }

    @Test
    void anEventThirtyDaysLateBooksIntoItsPeriodAndACopyThirtyFourDaysLaterIsDropped() {
        fixture(new EventTimeWindow(Duration.ofDays(35)));
        Instant oct20 = Instant.parse("2026-10-20T10:00:00Z");

        // received 30 days after it happened: October is still open (its end + 35 days is December 6)
        f.send(requests("late", oct20, 4), oct20.plus(Duration.ofDays(30)));
        assertThat(f.limit("acme", "feature:chat", OCT_1).getCost()).isEqualByComparingTo("4");
        assertThat(f.limit("acme", "entitlement:chat", OCT_1).getUsed()).isEqualByComparingTo("4");

        // an event of November 1, sent again 34 days after it was first received: still recognised
        Instant nov1 = Instant.parse("2026-11-01T12:00:00Z");
        f.send(requests("n1", nov1, 2), nov1);
        f.send(requests("n1", nov1, 2), nov1.plus(Duration.ofDays(34)));
        assertThat(f.limit("acme", "feature:chat", NOV_1).getEvents()).isEqualTo(1);
        assertThat(f.limit("acme", "feature:chat", NOV_1).getCost()).isEqualByComparingTo("2");

        // and one 36 days old is refused, naming the window
        f.send(requests("too-old", nov1.minus(Duration.ofDays(1)), 1), nov1.plus(Duration.ofDays(35)));
        assertThat(f.dlq.readRecordsToList()).singleElement().satisfies(r ->
                assertThat(new String(r.headers().lastHeader(DeadLetterHandler.REASON).value(), StandardCharsets.UTF_8))
                        .contains("older than the late window of 840h"));
    }

    @Test
    void usageForAPeriodAlreadyFinalIsOneAdjustmentEachSplitExactlyAndTheFinalTotalDoesNotChange() {
        // a 35-day late window, but finance gets its totals 3 days after the month ends
        fixture(new EventTimeWindow(Duration.ofDays(35), Duration.ofDays(3)));
        f.send(requests("oct-a", Instant.parse("2026-10-10T10:00:00Z"), 8), Instant.parse("2026-10-10T10:00:00Z"));
        // stream time passes November 4, 00:05: October is final, $8 all included ($10 in the plan)
        f.send(requests("nov-a", Instant.parse("2026-11-05T10:00:00Z"), 1), Instant.parse("2026-11-05T10:00:00Z"));
        assertThat(f.totals.readValuesToList()).singleElement().satisfies(t -> {
            assertThat(t.getPeriodStart()).isEqualTo(OCT_1);
            assertThat(t.getCost()).isEqualByComparingTo("8");
        });
        f.thresholds.readValuesToList();

        // $5 of October 30 arrives on November 6: $2 of it was still included, $3 is billed on the next invoice
        UsageEvent late = requests("oct-late", Instant.parse("2026-10-30T10:00:00Z"), 5);
        f.send(late, Instant.parse("2026-11-06T10:00:00Z"));
        f.send(late, Instant.parse("2026-11-07T10:00:00Z")); // sent again: nothing more
        // $4 more: nothing of it is included any more
        f.send(requests("oct-later", Instant.parse("2026-10-31T23:00:00Z"), 4), Instant.parse("2026-11-08T10:00:00Z"));

        List<TestRecord<String, BillingAdjustment>> adjustments = f.adjustments.readRecordsToList();
        assertThat(adjustments).hasSize(2);
        assertThat(adjustments).allSatisfy(r -> assertThat(r.key()).isEqualTo("acme|chat|" + OCT_1));
        BillingAdjustment first = adjustments.get(0).value();
        assertThat(first.getKind()).isEqualTo("late_event");
        assertThat(first.getEventId()).isEqualTo("oct-late");
        assertThat(first.getPeriodStart()).isEqualTo(OCT_1);
        assertThat(first.getPeriodEnd()).isEqualTo(NOV_1);
        assertThat(first.getCost()).isEqualByComparingTo("5");
        assertThat(first.getIncluded()).isEqualByComparingTo("2");
        assertThat(first.getGrantCovered()).isEqualByComparingTo("0");
        assertThat(first.getBilled()).isEqualByComparingTo("3");
        assertThat(first.getEvents()).isEqualTo(1);
        assertThat(first.getQuantities()).singleElement().satisfies(q -> assertThat(q.getQuantity()).isEqualByComparingTo("5"));
        BillingAdjustment second = adjustments.get(1).value();
        assertThat(second.getIncluded()).isEqualByComparingTo("0");
        assertThat(second.getBilled()).isEqualByComparingTo("4");

        // the final total was written once and not again; no notification for a month already over
        assertThat(f.totals.readValuesToList()).isEmpty();
        assertThat(f.thresholds.readValuesToList()).isEmpty();
        // final total + adjustments = what October used
        assertThat(f.limit("acme", "feature:chat", OCT_1).getCost()).isEqualByComparingTo("17");

        // once no accepted event can belong to October any more (its end + 35 days), its totals are forgotten
        f.send(requests("dec", Instant.parse("2026-12-07T10:00:00Z"), 1), Instant.parse("2026-12-07T10:00:00Z"));
        assertThat(f.limit("acme", "feature:chat", OCT_1)).isNull();
        assertThat(f.totals.readValuesToList()).singleElement().satisfies(t -> assertThat(t.getPeriodStart()).isEqualTo(NOV_1));
    }

    @Test
    void anEventRefusedForAPeriodThatJustBecameFinalLeavesItsFinalTotalToBeWritten() {
        fixture(new EventTimeWindow(Duration.ofDays(35), Duration.ofDays(3)));
        f.send(requests("oct-a", Instant.parse("2026-10-10T10:00:00Z"), 8), Instant.parse("2026-10-10T10:00:00Z"));
        // the first record after October became final takes back more than October holds: refused whole
        UsageEvent tooMuch = UsageEvent.newBuilder(requests("oct-credit", Instant.parse("2026-10-30T10:00:00Z"), 0)).setReason("credit")
                .setUsage(List.of(new io.capstream.schemas.Quantity("requests", null, new java.math.BigDecimal("-20").setScale(9)))).build();
        f.send(tooMuch, Instant.parse("2026-11-06T10:00:00Z"));

        assertThat(f.dlq.readRecordsToList()).hasSize(1);
        assertThat(f.adjustments.readRecordsToList()).isEmpty();
        assertThat(f.totals.readValuesToList()).singleElement().satisfies(t -> {
            assertThat(t.getPeriodStart()).isEqualTo(OCT_1);
            assertThat(t.getCost()).isEqualByComparingTo("8");
        });
    }
}

package io.capstream.aggregator.topology;

import static io.capstream.aggregator.topology.TopologyFixture.event;
import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.customer.Customer;
import io.capstream.schemas.RunawayBreaker;
import io.capstream.schemas.RunawayState;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.mapping.CustomerMapping;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The runaway circuit breaker through the production topology: a week of normal traffic gives the
 * baseline, a spike sustained for two minutes trips it, and it closes after its cool-down or when reset.
 */
class RunawayTopologyTest {
    /** $1 a request; the breaker trips at 10 x the baseline (at least $0.10 a minute) sustained 2 minutes, and blocks for 15 minutes. */
    static final String POLICY = """
            meters:
              requests: {price: "1"}
            plans:
              pro:
                price: "20"
                runaway: {factor: 10, floor: "0.10", sustain_minutes: 2, action: block, cool_down_minutes: 15}
            default_plan: pro
            """;
    static final ZoneId NEW_YORK = ZoneId.of("America/New_York");
    /** 10:00 in New York on November 23, 2026 (EST); the week before it is after the fall-back, so every day's 10:00 is 15:00Z. */
    static final Instant SPIKE_HOUR = Instant.parse("2026-11-23T15:00:00Z");

    final TopologyFixture f = new TopologyFixture(POLICY);

    @AfterEach
    void stop() {
        f.close();
    }

    static Customer acme(boolean trusted) {
        return new Customer("acme", "pro", NEW_YORK, 1, Customer.Contacts.NONE, trusted, Customer.Status.ACTIVE, List.of(), List.of());
    }

    int sent;

    void requests(Instant at, int count, String apiKey) {
        for (int i = 0; i < count; i++) {
            UsageEvent e = event("e" + sent++, "acme", "chat", null, at.plusSeconds(i), Map.of("requests", 1L));
            e.setApiKey(apiKey);
            f.send(e, at.plusSeconds(i));
        }
    }

    /** A normal week: 10:00–11:00 in New York costs $30 on the busiest day ($0.50 a minute), less on the others. */
    void normalWeek() {
        int[] perHour = {12, 30, 18, 6, 24, 12, 18};
        for (int day = 7; day >= 1; day--) {
            Instant hour = SPIKE_HOUR.minus(Duration.ofDays(day));
            int n = perHour[7 - day];
            for (int i = 0; i < n; i++) {
                requests(hour.plus(Duration.ofSeconds(3600L * i / n)), 1, null);
            }
        }
    }

    @Test
    void aSpikeOfTenTimesTheBaselineSustainedTwoMinutesOpensTheBreakerAndItClosesAfterItsCoolDown() {
        f.configure(acme(false), SPIKE_HOUR.minus(Duration.ofDays(8)));
        normalWeek();
        assertThat(f.runaway.readRecordsToList()).isEmpty();

        // $5 a minute is the trip rate: $6 in the first minute does not trip (one minute), $5 in the next does not either
        Instant spike = SPIKE_HOUR.plus(Duration.ofMinutes(10));
        requests(spike, 6, null);
        requests(spike.plus(Duration.ofMinutes(1)), 5, null);
        assertThat(f.runaway.readRecordsToList()).isEmpty();
        // the sixth request of the second minute takes it to $6: both minutes are above $5
        requests(spike.plus(Duration.ofMinutes(1)).plusSeconds(30), 1, null);
        var opened = f.runaway.readRecordsToList();
        assertThat(opened).hasSize(1);
        Instant receivedAt = spike.plus(Duration.ofMinutes(1)).plusSeconds(30);
        RunawayState state = opened.getFirst().value();
        assertThat(opened.getFirst().key()).isEqualTo("acme");
        assertThat(state.getBreakers()).singleElement().satisfies(b -> {
            assertThat(b.getApiKey()).isNull();
            assertThat(b.getAction()).isEqualTo("block");
            assertThat(b.getRate()).isEqualByComparingTo("6");
            assertThat(b.getBaseline()).isEqualByComparingTo("0.50");
            assertThat(b.getTripRate()).isEqualByComparingTo("5");
            assertThat(b.getOpenedAt()).isEqualTo(receivedAt);
            assertThat(b.getClosesAt()).isEqualTo(receivedAt.plus(Duration.ofMinutes(15)));
        });
        List<ThresholdCrossed> notified = f.thresholds.readValuesToList().stream().filter(t -> t.getKind().equals("runaway")).toList();
        assertThat(notified).singleElement().satisfies(t -> {
            assertThat(t.getLimitId()).isEqualTo("runaway");
            assertThat(t.getUsed()).isEqualByComparingTo("6");
            assertThat(t.getLimit()).isEqualByComparingTo("5");
            assertThat(t.getResetsAt()).isEqualTo("2026-11-23T10:26:30-05:00");
        });

        // the trip counts in the decision metrics of the plan and the feature that tripped it
        assertThat(f.metrics.readKeyValuesToMap().get("pro|chat|day|2026-11-23T00:00:00Z").getBreakerTrips()).isEqualTo(1);

                // more runaway spend while it is open opens nothing new
        requests(spike.plus(Duration.ofMinutes(2)), 10, null);
        assertThat(f.runaway.readRecordsToList()).isEmpty();

        // 15 minutes later it closes by itself: a tombstone for the sidecars
        f.driver.advanceWallClockTime(Duration.between(Instant.parse("2026-11-01T00:00:00Z"), receivedAt.plus(Duration.ofMinutes(16))));
        var closed = f.runaway.readRecordsToList();
        assertThat(closed).singleElement().satisfies(r -> assertThat(r.value()).isNull());
        assertThat(f.driver.<String, RunawayState>getKeyValueStore(UsageTopology.RUNAWAY_STORE).get("acme")).isNull();
    }

    @Test
    void aKeysOwnSpikeOpensABreakerForThatKeyAndAResetClosesIt() {
        f.configure(acme(false), SPIKE_HOUR.minus(Duration.ofDays(8)));
        normalWeek(); // no API key: the key's baseline is the floor, $0.10 a minute, and it trips above $1
        Instant spike = SPIKE_HOUR.plus(Duration.ofMinutes(20));
        requests(spike, 2, "key_leaked");
        requests(spike.plus(Duration.ofMinutes(1)), 2, "key_leaked");
        var opened = f.runaway.readRecordsToList();
        assertThat(opened).hasSize(1);
        assertThat(opened.getFirst().value().getBreakers()).extracting(RunawayBreaker::getApiKey, b -> b.getTripRate().stripTrailingZeros().toPlainString())
                .containsExactly(org.assertj.core.groups.Tuple.tuple("key_leaked", "1"));

        // the customer (or an admin) resets its breakers: the control API stamps runaway_reset_at on the customer
        Instant resetAt = spike.plus(Duration.ofMinutes(3));
        var record = CustomerMapping.toRecord(acme(false), resetAt);
        record.setRunawayResetAt(resetAt);
        f.customers.pipeInput(new TestRecord<>("acme", record, resetAt));
        assertThat(f.runaway.readRecordsToList()).singleElement().satisfies(r -> assertThat(r.value()).isNull());
        // its rates are measured afresh: one more minute of the same spend does not trip it again
        requests(spike.plus(Duration.ofMinutes(4)), 2, "key_leaked");
        assertThat(f.runaway.readRecordsToList()).isEmpty();
    }

    @Test
    void aTrustedCustomersBreakerOnlyNotifies() {
        f.configure(acme(true), SPIKE_HOUR.minus(Duration.ofDays(8)));
        requests(SPIKE_HOUR, 2, null);
        requests(SPIKE_HOUR.plus(Duration.ofMinutes(1)), 2, null);
        assertThat(f.runaway.readRecordsToList()).singleElement().satisfies(r ->
                assertThat(r.value().getBreakers()).extracting(RunawayBreaker::getAction).containsExactly("notify"));
    }

    @Test
    void aCustomersOwnSettingsApply() {
        // acme turns the plan's breaker off; globex sets a floor of $1.00 a minute (10 x: $10) and an absolute rate of $3, and only wants to be told
        f.configure(new Customer("acme", "pro", NEW_YORK, 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE, List.of(), List.of(),
                java.util.Optional.of(new io.capstream.policy.runaway.RunawaySettings(false, java.util.Optional.empty(), java.util.Optional.empty(),
                        java.util.Optional.empty(), java.util.Optional.empty(), java.util.Optional.empty(), java.util.Optional.empty()))),
                SPIKE_HOUR.minus(Duration.ofDays(8)));
        requests(SPIKE_HOUR, 20, null);
        requests(SPIKE_HOUR.plus(Duration.ofMinutes(1)), 20, null);
        assertThat(f.runaway.readRecordsToList()).isEmpty();

        f.configure(new Customer("globex", "pro", NEW_YORK, 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE, List.of(), List.of(),
                java.util.Optional.of(new io.capstream.policy.runaway.RunawaySettings(true, java.util.Optional.empty(),
                        java.util.Optional.of(new java.math.BigDecimal("1.00")), java.util.Optional.of(new java.math.BigDecimal("3")), java.util.Optional.empty(),
                        java.util.Optional.of(io.capstream.policy.limit.LimitAction.NOTIFY), java.util.Optional.empty()))),
                SPIKE_HOUR.minus(Duration.ofDays(8)));
        for (int minute = 0; minute < 2; minute++) {
            for (int i = 0; i < 4; i++) {
                Instant t = SPIKE_HOUR.plus(Duration.ofMinutes(minute)).plusSeconds(i);
                f.send(event("g" + minute + i, "globex", "chat", null, t, Map.of("requests", 1L)), t);
            }
        }
        assertThat(f.runaway.readRecordsToList()).singleElement().satisfies(r -> assertThat(r.value().getBreakers()).singleElement().satisfies(b -> {
            assertThat(b.getAction()).isEqualTo("notify");
            assertThat(b.getTripRate()).isEqualByComparingTo("3"); // the lower of 10 x $1.00 and $3: $4 a minute trips it
        }));
    }
}

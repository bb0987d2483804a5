package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.customer.Customer;
import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.EnforcementMetrics;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** Decision metrics per plan, feature, UTC day and week from the sidecars' decision log, through the production topology. */
class DecisionMetricsTopologyTest {
    static final Instant MONDAY = Instant.parse("2026-11-23T00:00:00Z");

    static EnforcementDecision decision(String customer, String decision, String code, int represents, String cost, String savings, Instant at) {
        return EnforcementDecision.newBuilder().setCustomer(customer).setFeature("chat").setModel("gpt-4o").setUser(null).setApiKey(null)
                .setDecision(decision).setCode(code).setStatus(200).setModelUsed(null).setLimitId(null).setMessage(decision).setDegraded(false)
                .setInstance("sidecar-1").setAt(at).setRepresents(represents)
                .setCost(cost == null ? null : new BigDecimal(cost).setScale(18)).setSavings(savings == null ? null : new BigDecimal(savings).setScale(18))
                .build();
    }

    @Test
    void checksByOutcomeDistinctCustomersBlockedCostAndSavingsAddUpPerPlanFeatureDayAndWeek() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) { // default plan: pro
            f.configure(new Customer("acme", "pro", ZoneId.of("UTC"), 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE, List.of(), List.of()),
                    MONDAY);
            Instant t = MONDAY.plusSeconds(36_000);
            List<EnforcementDecision> log = List.of(
                    decision("acme", "allow", "allow", 100, null, null, t), // one sampled allow standing for 100
                    decision("acme", "warn", "warn", 3, null, null, t),
                    decision("acme", "warn", "warn", 1, null, null, t.plusSeconds(1)),
                    decision("beta", "refuse", "spend_cap_reached", 2, "0.40", null, t), // beta: nobody configured it, the default plan
                    decision("acme", "downgrade", "downgrade", 1, "0.20", "0.15", t),
                    decision("acme", "refuse", "circuit_open", 1, "0.05", null, t),
                    decision("acme", "warn", "warn", 1, null, null, MONDAY.plusSeconds(86_400 + 60))); // Tuesday
            log.forEach(d -> f.decisions.pipeInput(d.getCustomer(), d));

            Map<String, EnforcementMetrics> latest = new java.util.HashMap<>();
            f.metrics.readKeyValuesToList().forEach(kv -> latest.put(kv.key, kv.value));
            EnforcementMetrics monday = latest.get("pro|chat|day|2026-11-23T00:00:00Z");
            assertThat(monday.getChecks()).isEqualTo(108);
            assertThat(monday.getAllows()).isEqualTo(100);
            assertThat(monday.getWarnings()).isEqualTo(4);
            assertThat(monday.getDowngrades()).isEqualTo(1);
            assertThat(monday.getRefusals()).isEqualTo(Map.of("spend_cap_reached", 2L, "circuit_open", 1L));
            assertThat(monday.getCustomersChecked()).isEqualTo(2);
            assertThat(monday.getCustomersSoft()).isEqualTo(1);
            assertThat(monday.getCustomersHard()).isEqualTo(1); // circuit_open is not a limit refusal
            assertThat(monday.getBlockedCost()).isEqualByComparingTo("0.45");
            assertThat(monday.getDowngradeSavings()).isEqualByComparingTo("0.15");
            assertThat(monday.getWindowEnd()).isEqualTo(Instant.parse("2026-11-24T00:00:00Z"));

            EnforcementMetrics week = latest.get("pro|chat|week|2026-11-23T00:00:00Z");
            assertThat(week.getChecks()).isEqualTo(109);
            assertThat(week.getWarnings()).isEqualTo(5);
            assertThat(week.getCustomersSoft()).isEqualTo(1); // acme warned on two days is one customer of the week
            assertThat(week.getWindowEnd()).isEqualTo(Instant.parse("2026-11-30T00:00:00Z"));
            assertThat(latest.get("pro|chat|day|2026-11-24T00:00:00Z").getCustomersSoft()).isEqualTo(1);
        }
    }

    @Test
    void customersCountedInAWindowAreForgottenTwoWeeksAfterItEndedAndOnlyThen() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) { // the fixture's wall clock starts on November 1
            Instant monday = MONDAY.plusSeconds(36_000);
            Instant december10 = Instant.parse("2026-12-10T10:00:00Z");
            f.decisions.pipeInput("acme", decision("acme", "warn", "warn", 1, null, null, monday));
            f.decisions.pipeInput("acme", decision("acme", "warn", "warn", 1, null, null, december10));

            // on December 21 the windows of November 23 (day and week) ended more than 14 days ago; December 10's did not
            f.driver.advanceWallClockTime(java.time.Duration.ofDays(50));
            f.decisions.pipeInput("acme", decision("acme", "warn", "warn", 1, null, null, monday));
            f.decisions.pipeInput("acme", decision("acme", "warn", "warn", 1, null, null, december10));

            Map<String, EnforcementMetrics> latest = f.metrics.readKeyValuesToMap();
            // forgotten: a decision in that window counts the customer again
            assertThat(latest.get("pro|chat|day|2026-11-23T00:00:00Z").getCustomersSoft()).isEqualTo(2);
            assertThat(latest.get("pro|chat|week|2026-11-23T00:00:00Z").getCustomersSoft()).isEqualTo(2);
            // kept: still one customer
            assertThat(latest.get("pro|chat|day|2026-12-10T00:00:00Z").getCustomersSoft()).isEqualTo(1);
            assertThat(latest.get("pro|chat|week|2026-12-07T00:00:00Z").getCustomersSoft()).isEqualTo(1);
        }
    }

    @Test
    void windowsOfAPlanAndFeatureNeverSeenAgainAreDeletedOnceOlderThanTheKeptSpan() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) { // the fixture's wall clock starts on November 1
            f.decisions.pipeInput("acme", decision("acme", "warn", "warn", 1, null, null, MONDAY.plusSeconds(36_000)));
            f.metrics.readKeyValuesToList();
            String day = "pro|chat|day|2026-11-23T00:00:00Z";
            String week = "pro|chat|week|2026-11-23T00:00:00Z";
            var store = f.driver.<String, EnforcementMetrics>getKeyValueStore(UsageTopology.METRICS_STORE);

            // 400 days kept: on the 399th day after it the day is still there (the hourly look runs as the clock moves)
            java.time.Duration toMonday = java.time.Duration.between(Instant.parse("2026-11-01T00:00:00Z"), MONDAY);
            f.driver.advanceWallClockTime(toMonday.plus(java.time.Duration.ofDays(DecisionMetrics.KEPT_WINDOWS - 1)));
            assertThat(f.metrics.readKeyValuesToList()).isEmpty();
            assertThat(store.get(day)).isNotNull();

            // the 400th day after it: the day is deleted, a tombstone on the topic; its week (400 weeks kept) is not
            f.driver.advanceWallClockTime(java.time.Duration.ofDays(1));
            assertThat(f.metrics.readKeyValuesToList()).singleElement().satisfies(kv -> {
                assertThat(kv.key).isEqualTo(day);
                assertThat(kv.value).isNull();
            });
            assertThat(store.get(day)).isNull();
            assertThat(store.get(week)).isNotNull();

            // and 400 weeks after it, the week
            f.driver.advanceWallClockTime(java.time.Duration.ofDays(7L * DecisionMetrics.KEPT_WINDOWS - DecisionMetrics.KEPT_WINDOWS));
            assertThat(f.metrics.readKeyValuesToList()).extracting(kv -> kv.key).containsExactly(week);
            assertThat(store.get(week)).isNull();
            try (var left = f.driver.<String, Long>getKeyValueStore(UsageTopology.METRICS_WINDOWS_STORE).all()) {
                assertThat(left.hasNext()).as("the windows by their start hold nothing more").isFalse();
            }
        }
    }

    @Test
    void aWindowOlderThanTheKeptSpanIsDeletedWhenItsPlanAndFeatureOpenANewOne() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) {
            Instant old = MONDAY.plusSeconds(36_000);
            Instant dayLater = old.plus(java.time.Duration.ofDays(DecisionMetrics.KEPT_WINDOWS - 1));
            Instant past = old.plus(java.time.Duration.ofDays(DecisionMetrics.KEPT_WINDOWS));
            f.decisions.pipeInput("acme", decision("acme", "warn", "warn", 1, null, null, old));
            f.decisions.pipeInput("acme", decision("acme", "warn", "warn", 1, null, null, dayLater));
            assertThat(f.metrics.readKeyValuesToMap()).containsKey("pro|chat|day|2026-11-23T00:00:00Z"); // 399 days later: kept

            f.decisions.pipeInput("acme", decision("acme", "warn", "warn", 1, null, null, past));
            var written = f.metrics.readKeyValuesToList();
            // 400 days later: the day is deleted (a tombstone), its week (400 weeks kept) and the newer days are not
            assertThat(written).filteredOn(kv -> kv.value == null).extracting(kv -> kv.key).containsExactly("pro|chat|day|2026-11-23T00:00:00Z");
            Map<String, EnforcementMetrics> latest = new java.util.HashMap<>();
            written.forEach(kv -> latest.put(kv.key, kv.value));
            assertThat(latest).containsKeys("pro|chat|week|2027-12-27T00:00:00Z",
                    "pro|chat|day|" + past.truncatedTo(java.time.temporal.ChronoUnit.DAYS));
            assertThat(f.driver.<String, EnforcementMetrics>getKeyValueStore(UsageTopology.METRICS_STORE).get("pro|chat|day|2026-11-23T00:00:00Z")).isNull();
        }
    }

    @Test
    void perLimitTheCustomersWhoseUsageReached80And100PercentAmongThoseWithUsage() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) { // pro: $10 of chat included, $1 a request
            Instant t = MONDAY.plusSeconds(36_000);
            f.send(TopologyFixture.event("a1", "acme", "chat", null, t, Map.of("requests", 9L)), t);   // 90 %
            f.send(TopologyFixture.event("b1", "beta", "chat", null, t, Map.of("requests", 11L)), t);  // 110 %
            f.send(TopologyFixture.event("c1", "gamma", "chat", null, t, Map.of("requests", 1L)), t);  // 10 %
            f.send(TopologyFixture.event("c2", "gamma", "chat", null, t, Map.of("requests", 1L)), t);  // 20 %: still one customer

            EnforcementMetrics monday = f.metrics.readKeyValuesToMap().get("pro|chat|day|2026-11-23T00:00:00Z");
            assertThat(monday.getCustomersActive()).isEqualTo(3);
            assertThat(monday.getLimits()).containsOnlyKeys("entitlement:chat");
            assertThat(monday.getLimits().get("entitlement:chat").getCustomers80()).isEqualTo(2);
            assertThat(monday.getLimits().get("entitlement:chat").getCustomers100()).isEqualTo(1);
            assertThat(monday.getChecks()).isZero(); // usage is not a check
            var row = io.capstream.aggregator.query.AnalyticsApi.Row.of(monday);
            assertThat(row.limits()).singleElement().satisfies(l -> {
                assertThat(l.share80()).isEqualTo("66.7");
                assertThat(l.share100()).isEqualTo("33.3");
            });
        }
    }
}

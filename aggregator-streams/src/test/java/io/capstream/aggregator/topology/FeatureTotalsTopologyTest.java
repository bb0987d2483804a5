package io.capstream.aggregator.topology;

import static io.capstream.aggregator.topology.LimitsTopologyTest.NOV_1;
import static io.capstream.aggregator.topology.LimitsTopologyTest.T0;
import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.Booking;
import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.EnforcementMetrics;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.UsageEvent;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

/**
 * A customer's features beyond {@link Booking#MAX_FEATURE_TOTALS} in a billing period, through the production topology: one
 * shared total, amendments taken back where their event was totalled, and the decision metrics bounded the same way.
 */
class FeatureTotalsTopologyTest {
    static UsageEvent requests(String id, String feature, long dollars) {
        return TopologyFixture.event(id, "acme", feature, null, T0, Map.of("requests", dollars));
    }

    static UsageEvent voiding(String id) {
        return AmendmentsTopologyTest.voiding(id, T0.plusSeconds(60));
    }

    @Test
    void featuresBeyondTheBoundShareOneTotalAndAVoidTakesItsEventBackFromWhereItWasTotalled() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) {
            for (int i = 0; i < Booking.MAX_FEATURE_TOTALS + 3; i++) {
                f.send(requests("e" + i, "f_" + i, 1), T0);
            }
            f.send(requests("chat-1", "chat", 2), T0); // chat is the plan's entitlement: its own total always
            LimitUsage other = f.limit("acme", "feature:" + Booking.OTHER_FEATURE, NOV_1);
            assertThat(other.getEvents()).isEqualTo(3);
            assertThat(other.getCost()).isEqualByComparingTo("3");
            assertThat(other.getFeature()).isEqualTo(Booking.OTHER_FEATURE);
            assertThat(f.limit("acme", "feature:f_99", NOV_1).getEvents()).isEqualTo(1);
            assertThat(f.limit("acme", "feature:f_100", NOV_1)).isNull();
            assertThat(f.limit("acme", "feature:chat", NOV_1).getCost()).isEqualByComparingTo("2");

            f.send(voiding("e101"), T0.plusSeconds(60)); // totalled under (other)
            f.send(voiding("e7"), T0.plusSeconds(60));   // under its own
            assertThat(f.limit("acme", "feature:" + Booking.OTHER_FEATURE, NOV_1).getCost()).isEqualByComparingTo("2");
            assertThat(f.limit("acme", "feature:" + Booking.OTHER_FEATURE, NOV_1).getEvents()).isEqualTo(2);
            assertThat(f.limit("acme", "feature:f_7", NOV_1).getCost()).isEqualByComparingTo("0");
            assertThat(f.limit("acme", "feature:f_101", NOV_1)).isNull();
            assertThat(f.dlq.readRecordsToList()).isEmpty();

            // the decision metrics: a check of a feature with a total, of the entitlement, and of ever new ones
            for (String feature : List.of("f_3", "chat", "never_1", "never_2")) {
                f.decisions.pipeInput("acme", EnforcementDecision.newBuilder(DecisionMetricsTopologyTest.decision("acme", "warn", "warn", 1, null, null, T0))
                        .setFeature(feature).build());
            }
            Map<String, EnforcementMetrics> metrics = f.metrics.readKeyValuesToMap();
            String day = "|day|" + T0.truncatedTo(java.time.temporal.ChronoUnit.DAYS);
            assertThat(metrics).containsKeys("pro|f_3" + day, "pro|chat" + day, "pro|" + Booking.OTHER_FEATURE + day);
            assertThat(metrics.keySet()).noneMatch(k -> k.contains("never"));
            assertThat(metrics.get("pro|" + Booking.OTHER_FEATURE + day).getChecks()).isEqualTo(2);
            // a customer with room (no usage yet): checks of features it has not used count under their own, the first hundred
            for (int i = 0; i <= Booking.MAX_FEATURE_TOTALS; i++) {
                f.decisions.pipeInput("beta", EnforcementDecision.newBuilder(DecisionMetricsTopologyTest.decision("beta", "warn", "warn", 1, null, null, T0))
                        .setFeature("new_" + i).build());
            }
            metrics = f.metrics.readKeyValuesToMap();
            assertThat(metrics).containsKeys("pro|new_0" + day, "pro|new_99" + day).doesNotContainKey("pro|new_100" + day);
            assertThat(metrics.get("pro|" + Booking.OTHER_FEATURE + day).getChecks()).isEqualTo(3);
            // and the customers with usage: the hundred own features and (other), not a window per feature beyond
            assertThat(metrics.keySet()).noneMatch(k -> k.startsWith("pro|f_10" + "0|") || k.startsWith("pro|f_101|") || k.startsWith("pro|f_102|"));
        }
    }
}

package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.RecentDecisions;
import java.time.Instant;
import org.junit.jupiter.api.Test;

/** The portal's "last refused or downgraded requests" through the production topology. */
class RecentDecisionsTopologyTest {
    static EnforcementDecision decision(String customer, String kind, int second) {
        return EnforcementDecision.newBuilder().setCustomer(customer).setFeature("chat").setModel("gpt-4o").setUser(null).setApiKey("key_1")
                .setDecision(kind).setCode(kind.equals("refuse") ? "spend_cap_reached" : "ok").setStatus(kind.equals("refuse") ? 402 : 200)
                .setModelUsed(null).setLimitId("cap:monthly").setMessage(kind + " " + second).setDegraded(false).setInstance("sidecar-1")
                .setAt(Instant.parse("2026-11-21T10:00:00Z").plusSeconds(second)).setRepresents(1).build();
    }

    @Test
    void keepsTheLastTwentyRefusalsAndDowngradesOfEachCustomerNewestFirstAndNothingElse() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) {
            for (int i = 0; i < 30; i++) {
                f.decisions.pipeInput("acme", decision("acme", i % 2 == 0 ? "refuse" : "downgrade", i));
                f.decisions.pipeInput("acme", decision("acme", i % 2 == 0 ? "allow" : "warn", 100 + i));
            }
            f.decisions.pipeInput("globex", decision("globex", "refuse", 5));
            f.decisions.pipeInput("acme", decision("acme", "refuse", 3)); // a sidecar's late record lands in its place by time

            RecentDecisions acme = (RecentDecisions) f.driver.getKeyValueStore(UsageTopology.RECENT_DECISIONS_STORE).get("acme");
            assertThat(acme.getDecisions()).hasSize(RecentDecisionsProcessor.KEPT);
            assertThat(acme.getDecisions()).extracting(EnforcementDecision::getMessage)
                    .startsWith("downgrade 29", "refuse 28").endsWith("downgrade 11", "refuse 10");
            assertThat(acme.getDecisions()).extracting(EnforcementDecision::getDecision).containsOnly("refuse", "downgrade");
            assertThat(((RecentDecisions) f.driver.getKeyValueStore(UsageTopology.RECENT_DECISIONS_STORE).get("globex")).getDecisions()).hasSize(1);
        }
    }
}

package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementService;
import io.capstream.testkit.ApicurioRegistry;
import io.capstream.testkit.SharedStack;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * The schema registry stopped while the stack runs: every service has the schemas it uses cached (ids
 * for writing, schemas by id for reading), so events are accepted, booked exactly and checked, and
 * customers changed, for as long as the registry is away. (A process that starts while it is away
 * cannot read the topics: docs/operations.md, "Faults, measured".)
 */
class RegistryOutageIT {
    @Test
    void whileTheRegistryIsAwayEventsChecksAndControlChangesKeepWorking() throws Exception {
        ApicurioRegistry registry = ApicurioRegistry.start(Path.of("target", "registry-outage-apicurio.log"));
        Stack stack = new Stack("registry-outage", "/test-policy.yaml", SharedStack.kafka().bootstrapServers(), registry.url());
        try (AggregatorService aggregator = stack.aggregator(0); EnforcementService sidecar = stack.sidecar(aggregator.port(), 100)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> aggregator.streams().state() == KafkaStreams.State.RUNNING);
            // given traffic, a customer change and a check while the registry is up
            Traffic traffic = new Traffic("reg_", 20, 2_000, 8);
            List<String> batches = traffic.batches(50);
            int half = batches.size() / 2;
            for (String batch : batches.subList(0, half)) {
                assertThat(stack.postEvents(batch).statusCode()).isEqualTo(202);
            }
            assertThat(stack.control("PUT", "/v1/customers/reg_1/caps/a", "{\"amount\": \"1000\"}", Stack.ADMIN_KEY).statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.enforcer().ready());
            String check = "{\"customer\": \"reg_1\", \"feature\": \"chat\"}";
            assertThat(stack.control("POST", "/v1/check", check, Stack.ADMIN_KEY, sidecar.port()).statusCode()).isEqualTo(200);

            // when the registry stops
            registry.close();

            // then for 20 s the rest of the events are accepted, a cap is changed and checks are answered
            long until = System.nanoTime() + Duration.ofSeconds(20).toNanos();
            int sent = half;
            while (System.nanoTime() < until || sent < batches.size()) {
                if (sent < batches.size()) {
                    assertThat(stack.postEvents(batches.get(sent++)).statusCode()).isEqualTo(202);
                }
                assertThat(stack.control("POST", "/v1/check", check, Stack.ADMIN_KEY, sidecar.port()).statusCode()).isEqualTo(200);
                Thread.sleep(200);
            }
            assertThat(stack.control("PUT", "/v1/customers/reg_1/caps/b", "{\"amount\": \"2000\"}", Stack.ADMIN_KEY).statusCode()).isEqualTo(200);
            // and every total is exact
            stack.awaitExactTotals(traffic, Duration.ofSeconds(60), Duration.ofSeconds(1), aggregator.port());
        } finally {
            stack.close();
            registry.close();
        }
    }
}

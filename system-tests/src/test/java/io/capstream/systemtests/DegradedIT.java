package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementService;
import java.io.InputStream;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/** With the aggregator stopped, strict caps are answered within the bound: degraded (fail open) or 503 (fail closed). */
class DegradedIT {
    @Test
    void aStoppedAggregatorGivesADegradedAnswerWithinTheBound() throws Exception {
        Stack stack = new Stack("degraded-it");
        AggregatorService aggregator = stack.aggregator(0);
        EnforcementService sidecar = null;
        try {
            try (InputStream in = DegradedIT.class.getResourceAsStream("/limits-policy.yaml")) {
                assertThat(stack.control("PUT", "/v1/policy", new String(in.readAllBytes(), StandardCharsets.UTF_8), Stack.ADMIN_KEY).statusCode())
                        .isEqualTo(200);
            }
            assertThat(stack.control("PUT", "/v1/customers/open_co/caps/hard", "{\"amount\": \"5\", \"strict\": true, \"fail_open\": true}",
                    Stack.ADMIN_KEY).statusCode()).isEqualTo(200);
            assertThat(stack.control("PUT", "/v1/customers/closed_co/caps/hard", "{\"amount\": \"5\", \"strict\": true, \"fail_open\": false}",
                    Stack.ADMIN_KEY).statusCode()).isEqualTo(200);
            await().atMost(Duration.ofSeconds(60)).until(() -> aggregator.streams().state() == KafkaStreams.State.RUNNING);
            sidecar = stack.sidecar(aggregator.port(), 40);
            EnforcementService s = sidecar;
            String open = "{\"customer\": \"open_co\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"0.10\"}}";
            await().atMost(Duration.ofSeconds(30)).until(() -> stack.control("POST", "/v1/check", open, Stack.ADMIN_KEY, s.port()).body()
                    .contains("reservation_id"));

            // when the aggregator stops
            aggregator.close();

            // then a fail-open strict cap answers at once, degraded, and a fail-closed one 503
            long started = System.nanoTime();
            HttpResponse<String> degraded = stack.control("POST", "/v1/check", open, Stack.ADMIN_KEY, sidecar.port());
            Duration took = Duration.ofNanos(System.nanoTime() - started);
            JsonNode answer = Stack.json(degraded);
            assertThat(degraded.statusCode()).isEqualTo(200);
            assertThat(answer.get("degraded").asBoolean()).isTrue();
            assertThat(took).isLessThan(Duration.ofMillis(500)); // the 40 ms bound plus HTTP on a shared two-core machine
            HttpResponse<String> closed = stack.control("POST", "/v1/check", open.replace("open_co", "closed_co"), Stack.ADMIN_KEY, sidecar.port());
            assertThat(closed.statusCode()).isEqualTo(503);
            assertThat(Stack.json(closed).get("error").get("code").asText()).isEqualTo("usage_state_unavailable");
        } finally {
            if (sidecar != null) {
                sidecar.close();
            }
            stack.close();
        }
    }
}

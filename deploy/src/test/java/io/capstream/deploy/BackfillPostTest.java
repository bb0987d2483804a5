package io.capstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.sun.net.httpserver.HttpServer;
import io.capstream.runtime.Json;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** How backfill answers ingest's refusals, against a real HTTP server that answers as ingest would. */
class BackfillPostTest {
    private final List<Integer> answers = new ArrayList<>();
    private final List<Long> arrivals = new ArrayList<>();
    private HttpServer server;

    private BackfillCommand command(int... statuses) throws Exception {
        for (int s : statuses) {
            answers.add(s);
        }
        server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        server.createContext("/", exchange -> {
            arrivals.add(System.nanoTime());
            int status = answers.isEmpty() ? 202 : answers.removeFirst();
            if (status == 429) {
                exchange.getResponseHeaders().add("Retry-After", "1");
            }
            byte[] body = ("{\"error\": {\"code\": \"x\", \"message\": \"answered " + status + "\"}}").getBytes(StandardCharsets.UTF_8);
            exchange.sendResponseHeaders(status, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        server.start();
        BackfillCommand command = new BackfillCommand();
        command.ingestUrl = "http://127.0.0.1:" + server.getAddress().getPort();
        command.key = "k";
        return command;
    }

    @AfterEach
    void stop() {
        server.stop(0);
    }

    @Test
    void anAmendmentRefusedForItsRateIsSentAgainAfterRetryAfter() throws Exception {
        BackfillCommand command = command(429, 429);
        command.post("/v1/events/e1/void", Json.MAPPER.valueToTree(Map.of("customer", "c")), List.of());
        assertThat(arrivals).hasSize(3);
        assertThat(arrivals.get(1) - arrivals.get(0)).isGreaterThanOrEqualTo(1_000_000_000L);
        assertThat(arrivals.get(2) - arrivals.get(1)).isGreaterThanOrEqualTo(1_000_000_000L);
    }

    @Test
    void anyOtherRefusalStopsTheRun() throws Exception {
        BackfillCommand command = command(400);
        assertThatThrownBy(() -> command.post("/v1/events", Json.MAPPER.valueToTree(List.of()), List.of()))
                .hasMessageContaining("answered 400");
        assertThat(arrivals).hasSize(1);
    }
}

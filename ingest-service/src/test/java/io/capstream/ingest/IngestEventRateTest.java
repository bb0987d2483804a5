package io.capstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.CustomerRateLimiter;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Json;
import io.github.bucket4j.TimeMeter;
import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * Ingest's per-customer event rate on its real HTTP server, on a clock that does not move (buckets never refill), so what
 * is counted and when a request is refused unparsed is exact. Every request here is refused before it would be published:
 * no broker is needed (the publisher points nowhere and is never used).
 */
class IngestEventRateTest {
    static final String SERVICE_KEY = "service-key";
    static final String CUSTOMER_KEY = "cus-a-key";
    final HttpClient http = HttpClient.newHttpClient();
    Javalin server;
    EventPublisher publisher;

    @BeforeEach
    void start() throws Exception {
        Path keys = Files.createTempFile("keys", ".txt");
        Files.writeString(keys, "svc sha256:" + ApiKeys.hash(SERVICE_KEY) + " ingest\n"
                + "own sha256:" + ApiKeys.hash(CUSTOMER_KEY) + " ingest:cus_a\n");
        IngestConfig config = IngestConfig.from(Map.of(IngestConfig.BOOTSTRAP_SERVERS, "127.0.0.1:1", "schema.registry.url", "http://127.0.0.1:1",
                IngestConfig.API_KEYS_FILE, keys.toString(), "secret.keys", io.capstream.testkit.TestSecrets.KEYS, IngestConfig.PUBLISH_TIMEOUT_MS, "1000"));
        TimeMeter still = new TimeMeter() {
            @Override
            public long currentTimeNanos() {
                return 1_000_000_000L;
            }

            @Override
            public boolean isWallClockBased() {
                return false;
            }
        };
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        IngestApi api = new IngestApi(ApiKeys.fromFile(keys), new EventParser(new EventTimeWindow(Duration.ofHours(24)), Optional::empty),
                publisher = new EventPublisher(config, new io.capstream.schemas.registry.SchemaRegistryClient("http://127.0.0.1:1"), "usage-events"),
                Clock.systemUTC(), metrics, new CustomerRateLimiter(100, still), new CustomerRateLimiter(50, still)); // bursts of 1000 events
        server = HttpServer.start("127.0.0.1", 0, metrics, "/openapi-ingest.json", () -> true, api::routes);
    }

    @AfterEach
    void stop() {
        server.stop();
        publisher.close();
    }

    @Test
    void aCustomersOwnKeyHasItsInvalidEventsChargedAndOnceItsBucketIsEmptyItsRequestsAreRefusedUnparsed() throws Exception {
        // a batch of 1000 events, the last one invalid: 400, and the 1000 count
        String invalid = IngestIT.batch("e", "cus_a", 999).replace("]", ", {\"id\": \"bad\", \"customer\": \"cus_a\", \"feature\": \"chat\", \"usage\": {\"requests\": -1}}]");
        assertThat(post(CUSTOMER_KEY, invalid).statusCode()).isEqualTo(400);
        // then even a body that is not JSON is refused unparsed (it would be a 400 invalid_json if it were parsed)
        HttpResponse<String> unread = post(CUSTOMER_KEY, "not json");
        assertThat(unread.statusCode()).isEqualTo(429);
        assertThat(unread.headers().firstValue("Retry-After")).isPresent();
        assertThat(Json.MAPPER.readTree(unread.body()).get("error").get("message").asText())
                .contains("customer 'cus_a' may send at most 100 events a second", "nothing was stored");
        // the bucket is the customer's, whichever key sends: a service key's valid event of cus_a is refused too (after it is parsed)
        assertThat(post(SERVICE_KEY, IngestIT.batch("s", "cus_a", 1)).statusCode()).isEqualTo(429);
        // while a service key's invalid events are not counted: they cost the service's own requests, not a customer's bucket
        assertThat(post(SERVICE_KEY, IngestIT.batch("b", "cus_b", 999).replace("]", ", {\"id\": \"bad\"}]")).statusCode()).isEqualTo(400);
        // (a full batch of cus_b gets past its bucket: 503, the broker being nowhere, not 429)
        assertThat(post(SERVICE_KEY, IngestIT.batch("v", "cus_b", 1000)).statusCode()).isEqualTo(503);
    }

    @Test
    void aBodyThatIsNotJsonFromACustomersOwnKeyCountsAsAFullBatch() throws Exception {
        assertThat(post(CUSTOMER_KEY, "[" + "{\"id\": 1},".repeat(5_000)).statusCode()).isEqualTo(400); // never closed
        assertThat(post(CUSTOMER_KEY, IngestIT.batch("e", "cus_a", 1)).statusCode()).isEqualTo(429);
    }

    @Test
    void aCustomersOwnKeysAmendmentsCountWhetherValidOrNot() throws Exception {
        for (int i = 0; i < 50 * CustomerRateLimiter.BURST_SECONDS; i++) {
            assertThat(send(CUSTOMER_KEY, "/v1/events/e" + i + "/void", "not json").statusCode()).isEqualTo(400);
        }
        HttpResponse<String> refused = send(CUSTOMER_KEY, "/v1/events/e0/void", "{\"customer\": \"cus_a\", \"source\": \"svc\"}");
        assertThat(refused.statusCode()).isEqualTo(429);
        assertThat(refused.body()).contains("amendment_rate_limited", "customer 'cus_a'");
    }

    HttpResponse<String> post(String key, String body) throws Exception {
        return send(key, "/v1/events", body);
    }

    HttpResponse<String> send(String key, String path, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + server.port() + path))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }
}

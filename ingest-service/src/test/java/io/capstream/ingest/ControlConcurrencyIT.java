package io.capstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.Json;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.SharedStack;
import io.capstream.testkit.TopicNames;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Two ingest instances changing one customer at once on a real broker: no change is lost (one writer
 * per customers partition at a time, by transactional fencing), and a client's stale {@code If-Match}
 * is refused with 412 wherever it lands.
 */
class ControlConcurrencyIT {
    static final String KEY = "test-control-key";
    static final String TENANT_KEY = "test-tenant-key";
    static Topics topics;
    static Path keysFile;
    static IngestService first;
    static IngestService second;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        topics = new Topics(TopicNames.prefixFor("control-it"));
        SharedStack.kafka().createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
        keysFile = Files.createTempFile("keys", ".txt");
        Files.writeString(keysFile, "admin sha256:" + ApiKeys.hash(KEY) + " admin\ntenant sha256:" + ApiKeys.hash(TENANT_KEY) + " customer:busy customer:reader\n");
        first = new IngestService(config(), Clock.systemUTC());
        second = new IngestService(config(), Clock.systemUTC());
    }

    static IngestConfig config() {
        return IngestConfig.from(Map.of(
                IngestConfig.HTTP_HOST, "127.0.0.1", IngestConfig.HTTP_PORT, "0",
                IngestConfig.BOOTSTRAP_SERVERS, SharedStack.kafka().bootstrapServers(),
                RegistryAvroSerde.REGISTRY_URL, SharedStack.registry().url(), RegistryAvroSerde.AUTO_REGISTER, "true",
                IngestConfig.TOPIC_PREFIX, topics.prefix(), IngestConfig.API_KEYS_FILE, keysFile.toString(),
                "secret.keys", io.capstream.testkit.TestSecrets.KEYS));
    }

    @AfterAll
    static void stop() {
        first.close();
        second.close();
    }

    HttpResponse<String> call(IngestService target, String method, String path, String body, String... headers) {
        return call(KEY, target, method, path, body, headers);
    }

    HttpResponse<String> call(String key, IngestService target, String method, String path, String body, String... headers) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + path))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (headers.length > 0) {
            request.headers(headers);
        }
        try {
            return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (Exception e) {
            throw new IllegalStateException(e);
        }
    }

    void ready(IngestService target) {
        await().atMost(Duration.ofSeconds(30)).until(() -> call(target, "GET", "/health/ready", null).statusCode() == 200);
    }

    @Test
    void capsAddedThroughTwoInstancesAtOnceAreAllKept() throws Exception {
        ready(first);
        ready(second);
        CountDownLatch go = new CountDownLatch(1);
        List<CompletableFuture<List<Integer>>> writers = new ArrayList<>();
        for (IngestService target : List.of(first, second)) {
            String prefix = target == first ? "a" : "b";
            writers.add(CompletableFuture.supplyAsync(() -> {
                try {
                    go.await();
                } catch (InterruptedException e) {
                    throw new IllegalStateException(e);
                }
                List<Integer> statuses = new ArrayList<>();
                for (int i = 0; i < 10; i++) {
                    statuses.add(call(target, "PUT", "/v1/customers/racing/caps/" + prefix + i, "{\"amount\": \"" + (i + 1) + "\"}").statusCode());
                }
                return statuses;
            }));
        }
        go.countDown();
        for (CompletableFuture<List<Integer>> writer : writers) {
            assertThat(writer.get()).containsOnly(200);
        }

        for (IngestService target : List.of(first, second)) {
            await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
                HttpResponse<String> customer = call(target, "GET", "/v1/customers/racing", null);
                assertThat(customer.statusCode()).isEqualTo(200);
                assertThat(Json.MAPPER.readTree(customer.body()).get("caps").findValuesAsText("id")).hasSize(20)
                        .containsAll(List.of("a0", "a9", "b0", "b9"));
            });
        }
    }

    @Test
    void aCustomersOwnKeyChangesItsCapsAtABoundedRateAndAnAdminKeyIsNotLimited() {
        ready(first);
        // requests that fail validation are cheap, so the burst runs out fast; they count, as a script's would
        int refusedAt = -1;
        for (int i = 0; i < 80 && refusedAt < 0; i++) {
            HttpResponse<String> change = call(TENANT_KEY, first, "PUT", "/v1/customers/busy/caps/c" + i, "{\"amount\": \"-1\"}");
            if (change.statusCode() == 429) {
                refusedAt = i;
                assertThat(change.body()).contains("\"code\":\"cap_changes_rate_limited\"", "at most 5 times a second");
                assertThat(change.headers().firstValue("Retry-After")).hasValue("1");
            } else {
                assertThat(change.statusCode()).isEqualTo(400);
            }
        }
        assertThat(refusedAt).as("the first refusal, after the burst of 50").isBetween(50, 70);
        assertThat(call(TENANT_KEY, first, "DELETE", "/v1/customers/busy/caps/c0", null).statusCode()).isEqualTo(429);
        assertThat(call(first, "PUT", "/v1/customers/busy/caps/admin-set", "{\"amount\": \"5\"}").statusCode()).isEqualTo(200);
    }

    @Test
    void aCustomersOwnKeyReadsItsConfigurationAtABoundedRateAndAnAdminKeyIsNotLimited() {
        ready(second);
        long started = System.nanoTime();
        int refusedAt = -1;
        for (int i = 0; i < 400 && refusedAt < 0; i++) {
            HttpResponse<String> read = call(TENANT_KEY, second, "GET", "/v1/customers/reader", null);
            if (read.statusCode() == 429) {
                refusedAt = i;
                assertThat(read.body()).contains("\"code\":\"reads_rate_limited\"", "at most 10 times a second");
                assertThat(read.headers().firstValue("Retry-After")).hasValue("1");
            } else {
                assertThat(read.statusCode()).as("a customer nobody configured").isEqualTo(404);
            }
        }
        // the burst of 100, and what refilled meanwhile (a read each 0.1 s)
        assertThat(refusedAt).isBetween(100, 101 + (int) Math.ceil((System.nanoTime() - started) / 1e8));
        assertThat(call(second, "GET", "/v1/customers/reader", null).statusCode()).isEqualTo(404);
    }

    @Test
    void aStaleIfMatchIsRefusedWith412OnEitherInstance() throws Exception {
        ready(first);
        ready(second);
        HttpResponse<String> created = call(first, "PUT", "/v1/customers/guarded/caps/spend", "{\"amount\": \"10\"}");
        assertThat(created.statusCode()).isEqualTo(200);
        String version = created.headers().firstValue("ETag").orElseThrow();
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat(call(second, "GET", "/v1/customers/guarded", null).headers().firstValue("ETag")).contains(version));

        HttpResponse<String> raised = call(second, "PUT", "/v1/customers/guarded/caps/spend", "{\"amount\": \"20\"}", "If-Match", version);
        assertThat(raised.statusCode()).isEqualTo(200);
        String newer = raised.headers().firstValue("ETag").orElseThrow();
        assertThat(newer).isNotEqualTo(version);

        // a client that read the first version and writes through the other instance: refused, nothing changed
        HttpResponse<String> stale = call(first, "PUT", "/v1/customers/guarded/caps/spend", "{\"amount\": \"5\"}", "If-Match", version);
        assertThat(stale.statusCode()).isEqualTo(412);
        assertThat(Json.MAPPER.readTree(stale.body()).get("error").get("code").asText()).isEqualTo("version_mismatch");
        assertThat(stale.headers().firstValue("ETag")).contains(newer);
        HttpResponse<String> now = call(first, "GET", "/v1/customers/guarded", null);
        assertThat(Json.MAPPER.readTree(now.body()).get("caps").get(0).get("amount").asText()).isEqualTo("20.00");
        assertThat(call(first, "DELETE", "/v1/customers/guarded/caps/spend", null, "If-Match", version).statusCode()).isEqualTo(412);
        assertThat(call(first, "DELETE", "/v1/customers/guarded/caps/spend", null, "If-Match", newer).statusCode()).isEqualTo(204);

        // If-Match: * applies to whatever version is current, if the customer exists; a version that no answer had is refused
        assertThat(call(first, "PUT", "/v1/customers/guarded/caps/spend", "{\"amount\": \"7\"}", "If-Match", "*").statusCode()).isEqualTo(200);
        HttpResponse<String> nobody = call(first, "PUT", "/v1/customers/nobody-yet/caps/spend", "{\"amount\": \"7\"}", "If-Match", "*");
        assertThat(nobody.statusCode()).isEqualTo(412);
        assertThat(nobody.body()).contains("does not exist");
        assertThat(call(first, "PUT", "/v1/customers/guarded/caps/spend", "{\"amount\": \"7\"}", "If-Match", "\"-5\"").statusCode()).isEqualTo(400);
    }
}

package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementService;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.StringJoiner;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * Careless and hostile requests to every endpoint of the running services (ingest with the control
 * API, the aggregator's query and reservation API, the enforcement sidecar): each is answered with a
 * JSON 4xx naming the problem, or accepted correctly; afterwards the books are exact and every
 * service is ready.
 */
class HostileInputIT {
    static Stack stack;
    static AggregatorService aggregator;
    static EnforcementService sidecar;

    /** One request and what it must get. */
    record Probe(String name, String method, int port, String path, String contentType, String body, String key, int... statuses) {}

    @BeforeAll
    static void start() {
        stack = new Stack("hostile");
        aggregator = stack.aggregator(0);
        sidecar = stack.sidecar(aggregator.port(), 2000);
        await().atMost(Duration.ofSeconds(60)).until(() -> ready(aggregator.port()) && ready(sidecar.port()));
    }

    @AfterAll
    static void stop() {
        sidecar.close();
        aggregator.close();
        stack.close();
    }

    static String event(String id, String usage) {
        return "{\"id\": \"" + id + "\", \"customer\": \"acme\", \"feature\": \"chat\", \"model\": \"gpt-4o-mini\", \"usage\": " + usage + "}";
    }

    static String nested(int depth) {
        return "{\"id\": \"n\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": " + "{\"a\": ".repeat(depth) + "1" + "}".repeat(depth) + "}";
    }

    static List<Probe> probes() {
        int in = stack.ingest.port();
        int q = aggregator.port();
        int s = sidecar.port();
        String admin = Stack.ADMIN_KEY;
        String acme = Stack.ACME_KEY;
        String json = "application/json";
        List<Probe> p = new ArrayList<>();
        // --- POST /v1/events
        String[][] badEvents = {
                {"trailing content", event("e1", "{\"input_tokens\": 1}") + " xyz"},
                {"ndjson", event("e1", "{\"input_tokens\": 1}") + "\n" + event("e2", "{\"input_tokens\": 1}")},
                {"duplicate key", "{\"id\": \"d\", \"customer\": \"acme\", \"customer\": \"globex\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}}"},
                {"deep nesting", nested(40)},
                {"5000-digit number", event("e1", "{\"input_tokens\": " + "9".repeat(5000) + "}")},
                {"huge quantity", event("e1", "{\"input_tokens\": 99999999999999999999999999999}")},
                {"huge exponent", event("e1", "{\"input_tokens\": \"1e10000000\"}")},
                {"tiny exponent", event("e1", "{\"input_tokens\": \"1e-4000000\"}")},
                {"negative quantity", event("e1", "{\"input_tokens\": -5}")},
                {"arabic digits", event("e1", "{\"input_tokens\": \"١٢\"}")},
                {"quantity as object", event("e1", "{\"input_tokens\": {\"x\": 1}}")},
                {"too many meters", event("e1", meters(33))},
                {"unknown field", "{\"id\": \"u\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}, \"extra\": 1}"},
                {"unknown model", "{\"id\": \"m\", \"customer\": \"acme\", \"feature\": \"chat\", \"model\": \"gpt-9\", \"usage\": {\"input_tokens\": 1}}"},
                {"unpriced meter", event("e1", "{\"frames\": 1}")},
                {"usage as a list", "{\"id\": \"g\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": [1]}"},
                {"year 999999999", "{\"id\": \"t\", \"customer\": \"acme\", \"feature\": \"chat\", \"time\": \"+999999999-01-01T00:00:00Z\", \"usage\": {\"requests\": 1}}"},
                {"time without offset", "{\"id\": \"t\", \"customer\": \"acme\", \"feature\": \"chat\", \"time\": \"2026-11-21T10:00:00\", \"usage\": {\"requests\": 1}}"},
                {"customer with separator", "{\"id\": \"c\", \"customer\": \"ac|me\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}}"},
                {"id too long", "{\"id\": \"" + "x".repeat(300) + "\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}}"},
                {"empty usage", "{\"id\": \"c\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": {}}"},
                {"no feature", "{\"id\": \"c\", \"customer\": \"acme\", \"usage\": {\"requests\": 1}}"},
                {"null body", "null"},
                {"a string", "\"event\""},
                {"a number", "123"},
                {"empty array", "[]"},
                {"array of numbers", "[1, 2]"},
                {"not json", "{id: e1}"},
                {"empty body", ""},
        };
        for (String[] b : badEvents) {
            p.add(new Probe("events: " + b[0], "POST", in, "/v1/events", json, b[1], admin, 400));
        }
        p.add(new Probe("events: batch of 1001", "POST", in, "/v1/events", json, batch(1001), admin, 413));
        p.add(new Probe("events: no key", "POST", in, "/v1/events", json, event("e1", "{\"requests\": 1}"), null, 401));
        p.add(new Probe("events: customer key cannot ingest", "POST", in, "/v1/events", json, event("e1", "{\"requests\": 1}"), acme, 403));
        p.add(new Probe("events: content type ;", "POST", in, "/v1/events", ";", event("e1", "{\"requests\": 1}"), admin, 415));
        p.add(new Probe("events: text/plain", "POST", in, "/v1/events", "text/plain", event("e1", "{\"requests\": 1}"), admin, 415));
        p.add(new Probe("events: GET", "GET", in, "/v1/events", null, null, admin, 405));
        p.add(new Probe("events: cloudevent bad specversion", "POST", in, "/v1/events", "application/cloudevents+json",
                "{\"specversion\": \"0.3\", \"id\": \"c1\", \"source\": \"s\", \"subject\": \"acme\", \"data\": {\"feature\": \"chat\", \"usage\": {\"requests\": 1}}}",
                admin, 400));
        p.add(new Probe("events: cloudevent bad extension", "POST", in, "/v1/events", "application/cloudevents+json",
                "{\"specversion\": \"1.0\", \"id\": \"c1\", \"source\": \"s\", \"subject\": \"acme\", \"Trace-Parent\": {\"x\": 1}, \"data\": {\"feature\": \"chat\", \"usage\": {\"requests\": 1}}}",
                admin, 400));
        p.add(new Probe("events: cloudevent with traceparent is accepted", "POST", in, "/v1/events", "application/cloudevents+json",
                "{\"specversion\": \"1.0\", \"id\": \"ce-tp\", \"source\": \"s\", \"subject\": \"hostile-ok\", \"type\": \"usage\","
                        + " \"traceparent\": \"00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01\", \"data\": {\"feature\": \"chat\", \"usage\": {\"requests\": 1}}}",
                admin, 202));
        p.add(new Probe("events: leap second is accepted", "POST", in, "/v1/events", json,
                "{\"id\": \"leap\", \"customer\": \"hostile-ok\", \"feature\": \"chat\", \"time\": \"" + java.time.LocalDate.now(java.time.ZoneOffset.UTC).minusDays(1)
                        + "T23:59:60Z\", \"usage\": {\"requests\": 1}}", admin, 202));
        // --- control API: customers
        String[][] badCustomers = {
                {"anchor 1.5", "{\"billing_anchor_day\": 1.5}"}, {"anchor as text", "{\"billing_anchor_day\": \"3\"}"}, {"anchor 0", "{\"billing_anchor_day\": 0}"},
                {"offset as timezone", "{\"timezone\": \"+05:30\"}"}, {"SystemV zone", "{\"timezone\": \"SystemV/PST8\"}"},
                {"email with >", "{\"contacts\": {\"emails\": [\"bad@x.test>\", \"ok@x.example\"]}}"}, {"11 emails", "{\"contacts\": {\"emails\": " + emails(11) + "}}"},
                {"metadata webhook", webhook("http://169.254.169.254/latest/meta-data")}, {"ipv6 loopback webhook", webhook("https://[::1]:8080/")},
                {"decimal ip webhook", webhook("https://2130706433:8080/")}, {"private webhook", webhook("https://10.0.0.5/")},
                {"plain http webhook", webhook("http://hooks.example.com/")}, {"webhook without secret", "{\"contacts\": {\"webhook_url\": \"https://hooks.example.com/\"}}"},
                {"plan with a space", "{\"plan\": \"go ld\"}"}, {"status paused", "{\"status\": \"paused\"}"}, {"unknown field", "{\"tier\": \"gold\"}"},
                {"contacts not an object", "{\"contacts\": [1]}"}, {"duplicate key", "{\"plan\": \"pro\", \"plan\": \"free\"}"}, {"a list", "[1]"},
        };
        for (String[] b : badCustomers) {
            p.add(new Probe("customer: " + b[0], "PUT", in, "/v1/customers/acme", json, b[1], admin, 400));
        }
        // --- caps
        String[][] badCaps = {
                {"amount 1e10000000", "{\"amount\": \"1e10000000\"}"}, {"amount 1e25", "{\"amount\": \"1e25\"}"}, {"amount 19 decimals", "{\"amount\": \"1.0000000000000000001\"}"},
                {"amount negative", "{\"amount\": \"-5\"}"}, {"amount ten", "{\"amount\": \"ten\"}"}, {"amount missing", "{}"},
                {"11 thresholds", "{\"amount\": \"5\", \"thresholds\": [0.1,0.2,0.3,0.4,0.5,0.6,0.7,0.8,0.9,0.95,1.0]}"},
                {"threshold 0", "{\"amount\": \"5\", \"thresholds\": [0]}"}, {"label with newline", "{\"amount\": \"5\", \"label\": \"a\\nb\"}"},
                {"label with link", "{\"amount\": \"5\", \"label\": \"see https://evil.example\"}"}, {"period fortnightly", "{\"amount\": \"5\", \"period\": \"fortnightly\"}"},
                {"action explode", "{\"amount\": \"5\", \"action\": \"explode\"}"}, {"unknown meter", "{\"amount\": \"5\", \"measure\": \"frames\"}"},
                {"feature with space", "{\"amount\": \"5\", \"feature\": \"a b\"}"}, {"bad timezone", "{\"amount\": \"5\", \"timezone\": \"Mars/Base\"}"},
                {"overage_only as text", "{\"amount\": \"5\", \"overage_only\": \"yes\"}"},
        };
        for (String[] b : badCaps) {
            p.add(new Probe("cap: " + b[0], "PUT", in, "/v1/customers/acme/caps/c1", json, b[1], acme, 400));
        }
        p.add(new Probe("cap: other customer's key", "PUT", in, "/v1/customers/globex/caps/c1", json, "{\"amount\": \"5\"}", acme, 403));
        p.add(new Probe("cap: bad cap id", "PUT", in, "/v1/customers/acme/caps/a%7Cb", json, "{\"amount\": \"5\"}", acme, 400));
        p.add(new Probe("cap: delete unknown", "DELETE", in, "/v1/customers/acme/caps/nope", null, null, acme, 404));
        // --- grants
        String[][] badGrants = {
                {"amount huge", "{\"amount\": \"1e10000000\"}"}, {"priority high", "{\"amount\": \"5\", \"priority\": \"high\"}"},
                {"priority wraps", "{\"amount\": \"5\", \"priority\": 99999999999999}"}, {"year 999999999", "{\"amount\": \"5\", \"effective_at\": \"+999999999-01-01T00:00:00Z\"}"},
                {"expires first", "{\"amount\": \"5\", \"effective_at\": \"2026-02-01T00:00:00Z\", \"expires_at\": \"2026-01-01T00:00:00Z\"}"},
                {"category gold", "{\"amount\": \"5\", \"category\": \"gold\"}"}, {"amount 19 decimals", "{\"amount\": \"0.0000000000000000001\"}"},
        };
        for (String[] b : badGrants) {
            p.add(new Probe("grant: " + b[0], "POST", in, "/v1/customers/acme/grants", json, b[1], admin, 400));
        }
        p.add(new Probe("grant: customer key", "POST", in, "/v1/customers/acme/grants", json, "{\"amount\": \"5\"}", acme, 403));
        // --- policy
        String[][] badPolicies = {
                {"downgrade cycle", "models:\n  a: {downgrade_to: b, prices: {input_tokens: \"1/1M\"}}\n  b: {downgrade_to: a, prices: {input_tokens: \"1/1M\"}}\n"},
                {"self loop", "models:\n  a: {downgrade_to: a, prices: {input_tokens: \"1/1M\"}}\n"},
                {"duplicate key", "default_plan: free\ndefault_plan: pro\n"}, {"price too high", "meters:\n  x: {price: \"5000\"}\n"},
                {"not yaml", "models: [\n"}, {"a list", "- 1\n"},
        };
        for (String[] b : badPolicies) {
            p.add(new Probe("policy: " + b[0], "PUT", in, "/v1/policy", "application/yaml", b[1], admin, 422));
        }
        p.add(new Probe("policy: customer key", "PUT", in, "/v1/policy", "application/yaml", "models: {}\n", acme, 403));
        p.add(new Probe("policy: wrong method", "POST", in, "/v1/policy", "application/yaml", "models: {}\n", admin, 405));
        // --- HTTP details on every service
        for (int port : new int[] {in, q, s}) {
            p.add(new Probe("nul in path", "GET", port, "/v1/customers/%00/usage", null, null, admin, 400, 404));
            p.add(new Probe("no such endpoint", "GET", port, "/v1/nothing", null, null, admin, 404));
            p.add(new Probe("bad key", "GET", port, "/v1/customers/acme/usage", null, null, "wrong", 401, 404));
        }
        // --- aggregator: usage and reservations
        p.add(new Probe("usage: other customer's key", "GET", q, "/v1/customers/globex/usage", null, null, acme, 403));
        String[][] badReservations = {
                {"typo", "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimat\": {\"cost\": \"1\"}}"},
                {"tiny cost", "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"1e-4000000\"}}"},
                {"huge cost", "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"1e10000000\"}}"},
                {"unknown model", "{\"customer\": \"acme\", \"feature\": \"chat\", \"model\": \"gpt-9\"}"},
                {"unknown meter", "{\"customer\": \"acme\", \"feature\": \"chat\", \"model\": \"gpt-4o\", \"estimate\": {\"frames\": 1}}"},
                {"no customer", "{\"feature\": \"chat\"}"}, {"trailing", "{\"customer\": \"acme\", \"feature\": \"chat\"} {}"},
        };
        for (String[] b : badReservations) {
            p.add(new Probe("reservation: " + b[0], "POST", q, "/v1/reservations", json, b[1], admin, 400));
        }
        p.add(new Probe("reservation: unknown id", "DELETE", q, "/v1/reservations/res_YWNtZQ_0000", null, null, admin, 404));
        // --- sidecar check
        String[][] badChecks = {
                {"typo estimat", "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimat\": {\"cost\": \"1\"}}"},
                {"cost 1e10000000", "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"1e10000000\"}}"},
                {"negative cost", "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"-1\"}}"},
                {"unknown model", "{\"customer\": \"acme\", \"feature\": \"chat\", \"model\": \"gpt-9\"}"},
                {"unknown meter", "{\"customer\": \"acme\", \"feature\": \"chat\", \"model\": \"gpt-4o\", \"estimate\": {\"frames\": 1}}"},
                {"33 meters", "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": " + meters(33) + "}"},
                {"cost and meters", "{\"customer\": \"acme\", \"feature\": \"chat\", \"model\": \"gpt-4o\", \"estimate\": {\"cost\": \"1\", \"input_tokens\": 5}}"},
                {"duplicate key", "{\"customer\": \"acme\", \"customer\": \"globex\", \"feature\": \"chat\"}"},
                {"trailing", "{\"customer\": \"acme\", \"feature\": \"chat\"} x"}, {"array", "[]"}, {"customer with separator", "{\"customer\": \"a|b\", \"feature\": \"chat\"}"},
        };
        for (String[] b : badChecks) {
            p.add(new Probe("check: " + b[0], "POST", s, "/v1/check", json, b[1], admin, 400));
        }
        p.add(new Probe("check: no key", "POST", s, "/v1/check", json, "{\"customer\": \"acme\", \"feature\": \"chat\"}", null, 401));
        p.add(new Probe("check: GET", "GET", s, "/v1/check", null, null, admin, 405));
        return p;
    }

    @Test
    void everyHostileRequestIsAnsweredWithAJson4xxNamingTheProblemAndTheBooksStayExact() throws Exception {
        List<Probe> probes = probes();
        assertThat(probes).hasSizeGreaterThanOrEqualTo(100);

        // when every probe is sent, then each gets its status and a JSON error naming the problem
        List<String> wrongStatus = new ArrayList<>();
        for (Probe probe : probes) {
            HttpResponse<String> response = send(probe);
            if (!java.util.Arrays.asList(box(probe.statuses())).contains(response.statusCode())) {
                wrongStatus.add(probe.name() + " -> " + response.statusCode() + " " + response.body());
                continue;
            }
            if (response.statusCode() >= 400) {
                JsonNode error = Stack.json(response).path("error");
                assertThat(error.path("code").asText()).as(probe.name() + ": " + response.body()).isNotEmpty();
                assertThat(error.path("message").asText()).as(probe.name()).isNotEmpty();
                if (response.statusCode() == 400 && error.has("errors")) {
                    assertThat(error.get("errors")).as(probe.name()).allSatisfy(e -> assertThat(e.has("field")).isTrue());
                }
                if (response.statusCode() == 401) {
                    assertThat(response.headers().firstValue("WWW-Authenticate")).as(probe.name()).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
                }
            }
        }
        assertThat(wrongStatus).isEmpty();
        // and the two kinds Java's client cannot send: a long URL and a raw %00, on the socket
        for (int port : new int[] {stack.ingest.port(), aggregator.port(), sidecar.port()}) {
            assertJsonError(raw(port, "GET /" + "a".repeat(20_000) + " HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
            assertJsonError(raw(port, "GET /v1/%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
        }

        // then 1,000 valid events for a fresh customer are booked exactly, and every service is ready
        for (int b = 0; b < 10; b++) {
            StringJoiner batch = new StringJoiner(",", "[", "]");
            for (int i = 0; i < 100; i++) {
                batch.add("{\"id\": \"ok-" + b + "-" + i + "\", \"customer\": \"fresh\", \"feature\": \"chat\", \"model\": \"gpt-4o-mini\","
                        + " \"usage\": {\"input_tokens\": 1000}}");
            }
            assertThat(stack.postEvents(batch.toString()).statusCode()).isEqualTo(202);
        }
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            HttpResponse<String> usage = stack.usage(aggregator.port(), "fresh");
            assertThat(usage.statusCode()).isEqualTo(200);
            JsonNode chat = Stack.json(usage).get("features").get(0);
            assertThat(chat.get("events").asLong()).isEqualTo(1000);
            assertThat(chat.get("cost").asText()).isEqualTo("0.15"); // 1,000 × 1,000 tokens × $0.15/1M
        });
        assertThat(ready(stack.ingest.port()) && ready(aggregator.port()) && ready(sidecar.port())).isTrue();
    }

    @Test
    void aRequestHoldingTensOfThousandsOfProblemsIsAnsweredWithTheFirstHundredAndTheCountOfAll() {
        // a 650 KB event with 60,000 unknown fields; then 1,000 events of 32 negative quantities each (32,000 problems)
        StringJoiner fields = new StringJoiner(", ", "{\"id\": \"many\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}, ", "}");
        for (int i = 0; i < 60_000; i++) {
            fields.add("\"k" + i + "\": 1");
        }
        StringJoiner negatives = new StringJoiner(",", "[", "]");
        for (int i = 0; i < 1000; i++) {
            StringJoiner usage = new StringJoiner(", ", "{", "}");
            for (int m = 0; m < 32; m++) {
                usage.add("\"m" + m + "\": -1");
            }
            negatives.add("{\"id\": \"neg-" + i + "\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": " + usage + "}");
        }
        for (String[] body : new String[][] {{fields.toString(), "60000"}, {negatives.toString(), "32000"}}) {
            HttpResponse<String> answer = stack.postEvents(body[0]);
            assertThat(answer.statusCode()).isEqualTo(400);
            JsonNode error = Stack.json(answer).get("error");
            assertThat(error.get("message").asText()).isEqualTo(body[1] + " problem(s) in the request (the first 100 are listed); nothing was stored");
            assertThat(error.get("errors")).hasSize(100);
            assertThat(answer.body().length()).as("the answer, for a body of " + body[0].length() + " bytes").isLessThan(20_000);
        }
        // the control API's answers are bounded the same way
        StringJoiner capFields = new StringJoiner(", ", "{\"amount\": \"5\", ", "}");
        for (int i = 0; i < 20_000; i++) {
            capFields.add("\"x" + i + "\": 1");
        }
        HttpResponse<String> cap = stack.control("PUT", "/v1/customers/acme/caps/many", capFields.toString(), Stack.ADMIN_KEY);
        assertThat(cap.statusCode()).isEqualTo(400);
        assertThat(Stack.json(cap).get("error").get("message").asText()).startsWith("20000 problem(s) in the request: ").contains("(the first 100 are listed)");
        assertThat(Stack.json(cap).get("error").get("errors")).hasSize(100);
    }

    @Test
    void aDirectProducersEventThatCannotBeBookedIsBookedNotAtAllAndItsCorrectedResendCounts() throws Exception {
        // given a cap on the customer, and an event from a direct Kafka producer (no ingest in front) whose cost no total can hold
        assertThat(stack.control("PUT", "/v1/customers/direct/caps/budget", "{\"amount\": \"100\"}", Stack.ADMIN_KEY).statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(Stack.json(stack.usage(aggregator.port(), "direct")).get("limits").findValuesAsText("id")).contains("cap:budget"));
        java.time.Instant now = java.time.Instant.now();
        io.capstream.schemas.UsageEvent huge = directEvent("whole", now, new java.math.BigDecimal("99999999999999999999999999999"));
        io.capstream.schemas.UsageEvent fixed = directEvent("whole", now, new java.math.BigDecimal("1000"));

        // when it is produced, then its corrected version with the same id
        java.util.Map<String, Object> props = java.util.Map.of("bootstrap.servers", io.capstream.testkit.SharedStack.kafka().bootstrapServers(), "acks", "all");
        try (org.apache.kafka.clients.producer.KafkaProducer<String, io.capstream.schemas.UsageEvent> producer = new org.apache.kafka.clients.producer.KafkaProducer<>(
                props, new org.apache.kafka.common.serialization.StringSerializer(), io.capstream.schemas.serde.RegistryAvroSerde.of(
                        io.capstream.schemas.UsageEvent.class, new io.capstream.schemas.registry.SchemaRegistryClient(io.capstream.testkit.SharedStack.registry().url()), true))) {
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(stack.topics.usageEvents(), null, now.toEpochMilli(), "direct", huge)).get();
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(stack.topics.usageEvents(), null, now.toEpochMilli(), "direct", fixed)).get();
        }

        // then only the corrected event is in every total: the feature's and the cap's, once
        await().atMost(Duration.ofSeconds(60)).untilAsserted(() -> {
            JsonNode usage = Stack.json(stack.usage(aggregator.port(), "direct"));
            assertThat(usage.get("features")).isNotEmpty();
            JsonNode chat = usage.get("features").get(0);
            assertThat(chat.get("events").asLong()).isEqualTo(1);
            assertThat(chat.get("cost").asText()).isEqualTo("0.00015");
            assertThat(LimitsIT.limit(usage, "cap:budget").get("used").asText()).isEqualTo("0.00015");
        });
    }

    static io.capstream.schemas.UsageEvent directEvent(String id, java.time.Instant at, java.math.BigDecimal tokens) {
        return io.capstream.schemas.UsageEvent.newBuilder().setId(id).setSource("direct-producer").setCustomer("direct").setFeature("chat")
                .setModel("gpt-4o-mini").setTime(at)
                .setUsage(List.of(new io.capstream.schemas.Quantity("input_tokens", null, tokens.setScale(9)))).build();
    }

    static String meters(int n) {
        StringJoiner m = new StringJoiner(",", "{", "}");
        for (int i = 0; i < n; i++) {
            m.add("\"m" + i + "\": 1");
        }
        return m.toString();
    }

    static String emails(int n) {
        StringJoiner m = new StringJoiner(",", "[", "]");
        for (int i = 0; i < n; i++) {
            m.add("\"u" + i + "@x.example\"");
        }
        return m.toString();
    }

    static String webhook(String url) {
        return "{\"contacts\": {\"webhook_url\": \"" + url + "\", \"webhook_secret\": \"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw\"}}";
    }

    static String batch(int n) {
        StringJoiner b = new StringJoiner(",", "[", "]");
        for (int i = 0; i < n; i++) {
            b.add(event("b" + i, "{\"requests\": 1}"));
        }
        return b.toString();
    }

    static Integer[] box(int[] statuses) {
        return java.util.Arrays.stream(statuses).boxed().toArray(Integer[]::new);
    }

    static boolean ready(int port) {
        try {
            return stack.http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                    HttpResponse.BodyHandlers.discarding()).statusCode() == 200;
        } catch (IOException e) {
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    static HttpResponse<String> send(Probe probe) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + probe.port() + probe.path()))
                .timeout(Duration.ofSeconds(10))
                .method(probe.method(), probe.body() == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(probe.body()));
        if (probe.contentType() != null) {
            request.header("Content-Type", probe.contentType());
        }
        if (probe.key() != null) {
            request.header("Authorization", "Bearer " + probe.key());
        }
        return stack.http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    /** A request written on the socket as it is, and the whole answer. */
    static String raw(int port, String request) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", port)) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(request.getBytes(StandardCharsets.ISO_8859_1));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    static void assertJsonError(String response) {
        assertThat(response).startsWith("HTTP/1.1 4");
        assertThat(response.toLowerCase()).contains("content-type: application/json");
        assertThat(response).contains("{\"error\":{\"code\":");
    }
}

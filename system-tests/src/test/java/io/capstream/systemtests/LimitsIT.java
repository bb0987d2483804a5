package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.aggregator.AggregatorService;
import java.io.InputStream;
import java.nio.file.Path;
import java.time.Instant;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** Plans, grants and customer caps end to end: control API → customers topic → aggregator → query API. */
class LimitsIT {
    static final String ACME_KEY = Stack.ACME_KEY;
    static Stack stack;
    static AggregatorService aggregator;

    @BeforeAll
    static void start() throws Exception {
        stack = new Stack("limits-it");
        aggregator = stack.aggregator(0);
        try (InputStream in = LimitsIT.class.getResourceAsStream("/limits-policy.yaml")) {
            HttpResponse<String> applied = stack.control("PUT", "/v1/policy", new String(in.readAllBytes(), StandardCharsets.UTF_8), Stack.ADMIN_KEY);
            assertThat(applied.statusCode()).as(applied.body()).isEqualTo(200);
        }
        await().atMost(Duration.ofSeconds(60)).until(() -> aggregator.streams().state() == KafkaStreams.State.RUNNING);
    }

    @AfterAll
    static void stop() {
        aggregator.close();
        stack.close();
    }

    static JsonNode limit(JsonNode usage, String id) {
        for (JsonNode l : usage.get("limits")) {
            if (l.get("id").asText().equals(id)) {
                return l;
            }
        }
        throw new AssertionError("no limit " + id + " in " + usage);
    }

    JsonNode usage(String customer) {
        HttpResponse<String> response = stack.usage(aggregator.port(), customer);
        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
        return Stack.json(response);
    }

    void ok(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isBetween(200, 204);
    }

    @Test
    void includedUsageAGrantAndOverageCountInEachKindOfCapAsTheDesignTableSays() {
        // given the pro plan ($10 of chat included), a $3 promotional grant, and a cap of each kind
        ok(stack.control("PUT", "/v1/customers/acme", "{\"plan\": \"pro\", \"timezone\": \"America/Los_Angeles\"}", Stack.ADMIN_KEY));
        ok(stack.control("POST", "/v1/customers/acme/grants", "{\"id\": \"promo\", \"amount\": \"3\", \"category\": \"promotional\", "
                + "\"effective_at\": \"2026-01-01T00:00:00Z\"}", Stack.ADMIN_KEY));
        String[][] caps = {{"all", "false", "false"}, {"not-grants", "false", "true"}, {"overage", "true", "false"}, {"billed", "true", "true"}};
        for (String[] c : caps) {
            ok(stack.control("PUT", "/v1/customers/acme/caps/" + c[0], "{\"amount\": \"100\", \"overage_only\": " + c[1]
                    + ", \"ignore_grants\": " + c[2] + "}", ACME_KEY));
        }
        // (configuration applies to the events the aggregator books after it has seen it)
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode seen = usage("acme");
            assertThat(seen.get("grants")).hasSize(1);
            assertThat(seen.get("limits").findValuesAsText("id")).contains("cap:all", "cap:not-grants", "cap:overage", "cap:billed");
        });
        // when $8 and then $7 of chat are used: c = 15, i = 10, o = 5, g = 3, b = 2
        assertThat(stack.postEvents("[{\"id\": \"a1\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": {\"requests\": 8}},"
                + "{\"id\": \"a2\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": {\"requests\": 7}}]").statusCode()).isEqualTo(202);
        // then
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            JsonNode usage = usage("acme");
            assertThat(limit(usage, "cap:all").get("used").asText()).isEqualTo("15.00");
            assertThat(limit(usage, "cap:not-grants").get("used").asText()).isEqualTo("12.00");
            assertThat(limit(usage, "cap:overage").get("used").asText()).isEqualTo("5.00");
            assertThat(limit(usage, "cap:billed").get("used").asText()).isEqualTo("2.00");
        });
        JsonNode usage = usage("acme");
        JsonNode chat = usage.get("features").get(0);
        assertThat(chat.get("cost").asText()).isEqualTo("15.00");
        assertThat(chat.get("included").asText()).isEqualTo("10.00");
        assertThat(chat.get("grant_covered").asText()).isEqualTo("3.00");
        assertThat(chat.get("billed").asText()).isEqualTo("2.00");
        assertThat(usage.get("grants").get(0).get("remaining").asText()).isEqualTo("0.00");
        JsonNode entitlement = limit(usage, "entitlement:chat");
        assertThat(entitlement.get("state").asText()).isEqualTo("exceeded");
        assertThat(entitlement.get("resets_at").asText()).matches("\\d{4}-\\d\\d-01T00:00:00-0[78]:00"); // Los Angeles midnight
        assertThat(usage.get("bill").get("plan_price").asText()).isEqualTo("20.00");
        assertThat(new BigDecimal(usage.get("bill").get("projected_total").asText())).isGreaterThanOrEqualTo(new BigDecimal("22"));
    }

    @Test
    void aVoidLiftsTheCapInTheSidecarAndAReplacementCountsInsteadEachOnce() throws Exception {
        // the pro plan's default $2 monthly cap (block): $1 + $2 used, a check of $0.50 is refused
        String check = "{\"customer\": \"amend\", \"feature\": \"chat\", \"estimate\": {\"requests\": 0.5}}";
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        try (io.capstream.enforcement.EnforcementService sidecar = stack.sidecar(aggregator.port(), 1000)) {
            assertThat(stack.postEvents("[{\"id\": \"m1\", \"source\": \"svc\", \"customer\": \"amend\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}},"
                    + "{\"id\": \"m2\", \"source\": \"svc\", \"customer\": \"amend\", \"feature\": \"chat\", \"usage\": {\"requests\": 2}}]").statusCode())
                    .isEqualTo(202);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(SidecarFailoverIT.check(http, sidecar.port(), check).statusCode()).isEqualTo(402));

            // m2 was reported twice by mistake: void it (sent twice: applied once) → $1 used, the check goes through
            String voidBody = "{\"customer\": \"amend\", \"source\": \"svc\", \"reason\": \"double-reported\"}";
            HttpResponse<String> voided = stack.control("POST", "/v1/events/m2/void", voidBody, Stack.ADMIN_KEY);
            assertThat(voided.statusCode()).as(voided.body()).isEqualTo(202);
            ok(stack.control("POST", "/v1/events/m2/void", voidBody, Stack.ADMIN_KEY));
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                    assertThat(SidecarFailoverIT.check(http, sidecar.port(), check).statusCode()).isEqualTo(200));
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(limit(usage("amend"), "cap:monthly-spend").get("used").asText()).isEqualTo("1.00"));

            // m1 really used $1.75 (read back from usage-events and taken back at the $1 it was booked at): the check is refused again
            HttpResponse<String> replaced = stack.control("POST", "/v1/events/m1/replace",
                    "{\"source\": \"svc\", \"customer\": \"amend\", \"feature\": \"chat\", \"usage\": {\"requests\": 1.75}, \"reason\": \"recount\"}",
                    Stack.ADMIN_KEY);
            assertThat(replaced.statusCode()).as(replaced.body()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                JsonNode usage = usage("amend");
                assertThat(limit(usage, "cap:monthly-spend").get("used").asText()).isEqualTo("1.75");
                assertThat(usage.get("features").get(0).get("cost").asText()).isEqualTo("1.75");
                assertThat(usage.get("features").get(0).get("events").asLong()).isEqualTo(1);
            });
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(SidecarFailoverIT.check(http, sidecar.port(), check).statusCode()).isEqualTo(402));

            // a replacement that names another id than the path's, or a void without a customer, is refused naming the field
            HttpResponse<String> wrongId = stack.control("POST", "/v1/events/m1/replace",
                    "{\"id\": \"m9\", \"customer\": \"amend\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}}", Stack.ADMIN_KEY);
            assertThat(wrongId.statusCode()).isEqualTo(400);
            assertThat(wrongId.body()).contains("\"field\":\"id\"");
            HttpResponse<String> noCustomer = stack.control("POST", "/v1/events/m1/void", "{\"source\": \"svc\"}", Stack.ADMIN_KEY);
            assertThat(noCustomer.statusCode()).isEqualTo(400);
            assertThat(noCustomer.body()).contains("\"field\":\"customer\"");
        }
    }

    /** Runs {@code ./capstream backfill} (capstream-admin backfill) against this stack; what it printed. */
    static String backfill(Path file, Instant from, Instant to, String... more) {
        java.io.StringWriter out = new java.io.StringWriter();
        java.util.List<String> args = new java.util.ArrayList<>(java.util.List.of("backfill", file.toString(), "--from", from.toString(), "--to", to.toString(),
                "--source", "billing-export", "--ingest-url", "http://127.0.0.1:" + stack.ingest.port(), "--key", Stack.ADMIN_KEY,
                "--bootstrap-servers", stack.bootstrap, "--registry-url", stack.registryUrl, "--topic-prefix", stack.topics.prefix()));
        args.addAll(java.util.List.of(more));
        int code = new picocli.CommandLine(new io.capstream.deploy.Cli()).setOut(new java.io.PrintWriter(out)).execute(args.toArray(String[]::new));
        assertThat(code).as(out.toString()).isZero();
        return out.toString();
    }

    JsonNode chat(String customer) {
        for (JsonNode f : usage(customer).get("features")) {
            if (f.get("feature").asText().equals("chat")) {
                return f;
            }
        }
        throw new AssertionError("no chat usage of " + customer);
    }

    @Test
    void aBackfillRunTwiceEqualsOneRunAndReplaceMakesTheFileTheTimeframesUsage(@org.junit.jupiter.api.io.TempDir Path dir) throws Exception {
        Instant from = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.HOURS).minus(Duration.ofHours(3));
        Instant to = from.plus(Duration.ofHours(2));
        // a CSV export of 3 events ($1.25 + $2 + $0.50) and, in the same timeframe, one event the backfill does not know
        Path csv = dir.resolve("export.csv");
        java.nio.file.Files.writeString(csv, "id,customer,feature,time,usage.requests\n"
                + "b1,backfill,chat," + from.plusSeconds(60) + ",1.25\n"
                + "b2,backfill,chat," + from.plusSeconds(120) + ",2\n"
                + "\"b,3\",backfill,chat," + from.plusSeconds(180) + ",0.5\n");
        assertThat(stack.postEvents("{\"id\": \"b0\", \"source\": \"billing-export\", \"customer\": \"backfill\", \"feature\": \"chat\", \"time\": \""
                + from.plusSeconds(30) + "\", \"usage\": {\"requests\": 4}}").statusCode()).isEqualTo(202);

        assertThat(backfill(csv, from, to)).contains("3 events sent");
        java.nio.file.Files.delete(dir.resolve("export.csv.progress"));
        assertThat(backfill(csv, from, to)).contains("3 events sent"); // all sent again: each counted once
        assertThat(backfill(csv, from, to)).contains("0 events sent"); // resumed from its progress: nothing left
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(chat("backfill").get("cost").asText()).isEqualTo("7.75");
            assertThat(chat("backfill").get("events").asLong()).isEqualTo(4);
        });

        // --replace with a corrected file: b2 is $3, "b,3" is gone, b4 is new; b0, unknown to the file, is voided
        Path jsonl = dir.resolve("corrected.jsonl");
        java.nio.file.Files.writeString(jsonl, String.join("\n",
                "{\"id\": \"b1\", \"customer\": \"backfill\", \"feature\": \"chat\", \"time\": \"" + from.plusSeconds(60) + "\", \"usage\": {\"requests\": \"1.25\"}}",
                "{\"id\": \"b2\", \"customer\": \"backfill\", \"feature\": \"chat\", \"time\": \"" + from.plusSeconds(120) + "\", \"usage\": {\"requests\": 3}}",
                "{\"id\": \"b4\", \"customer\": \"backfill\", \"feature\": \"chat\", \"time\": \"" + from.plusSeconds(240) + "\", \"usage\": {\"requests\": 0.25}}"));
        assertThat(backfill(jsonl, from, to, "--replace")).contains("1 events sent, 1 replaced, 2 voided, 1 already as the file says");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(chat("backfill").get("cost").asText()).isEqualTo("4.50");
            assertThat(chat("backfill").get("events").asLong()).isEqualTo(3);
        });
        // run again: the topic already says what the file says
        assertThat(backfill(jsonl, from, to, "--replace")).contains("0 events sent, 0 replaced, 0 voided, 3 already as the file says");
        Thread.sleep(2_000);
        assertThat(chat("backfill").get("cost").asText()).isEqualTo("4.50");

        // an event of the source that the aggregator refused (a direct producer's negative quantity, dead-lettered) was never
        // booked: a corrected file sends it as new, instead of replacing a version that is not in force
        io.capstream.schemas.UsageEvent refused = io.capstream.schemas.UsageEvent.newBuilder().setId("b5").setSource("billing-export")
                .setCustomer("backfill").setFeature("chat").setTime(from.plusSeconds(300))
                .setUsage(java.util.List.of(new io.capstream.schemas.Quantity("requests", null, new BigDecimal("-1.000000000")))).build();
        long deadBefore = deadLetters(stack.topics.usageEventsDlq());
        var serde = io.capstream.schemas.serde.RegistryAvroSerde.of(io.capstream.schemas.UsageEvent.class,
                new io.capstream.schemas.registry.SchemaRegistryClient(stack.registryUrl), false);
        try (var producer = new org.apache.kafka.clients.producer.KafkaProducer<String, byte[]>(java.util.Map.of("bootstrap.servers", stack.bootstrap),
                new org.apache.kafka.common.serialization.StringSerializer(), new org.apache.kafka.common.serialization.ByteArraySerializer())) {
            producer.send(new org.apache.kafka.clients.producer.ProducerRecord<>(stack.topics.usageEvents(), "backfill",
                    serde.serialize(stack.topics.usageEvents(), refused))).get();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> deadLetters(stack.topics.usageEventsDlq()) > deadBefore);
        java.nio.file.Files.writeString(jsonl, java.nio.file.Files.readString(jsonl) + "\n"
                + "{\"id\": \"b5\", \"customer\": \"backfill\", \"feature\": \"chat\", \"time\": \"" + from.plusSeconds(300) + "\", \"usage\": {\"requests\": \"0.5\"}}");
        assertThat(backfill(jsonl, from, to, "--replace")).contains("1 events sent, 0 replaced, 0 voided, 3 already as the file says");
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            assertThat(chat("backfill").get("cost").asText()).isEqualTo("5.00");
            assertThat(chat("backfill").get("events").asLong()).isEqualTo(4);
        });
    }

    /** Records on the dead-letter topic now. */
    static long deadLetters(String topic) {
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]>(java.util.Map.of("bootstrap.servers", stack.bootstrap,
                "isolation.level", "read_committed"), new org.apache.kafka.common.serialization.ByteArrayDeserializer(),
                new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            var partitions = consumer.partitionsFor(topic).stream().map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition())).toList();
            return consumer.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    @Test
    void aRaisedCapShowsItsNewLimitAndStateWithinOneSecond() {
        ok(stack.control("PUT", "/v1/customers/raise/caps/spend", "{\"amount\": \"10\"}", Stack.ADMIN_KEY));
        assertThat(stack.postEvents("{\"id\": \"r1\", \"customer\": \"raise\", \"feature\": \"drafts\", \"usage\": {\"requests\": 9}}")
                .statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(limit(usage("raise"), "cap:spend").get("state").asText()).isEqualTo("warning"));

        long raised = System.nanoTime();
        ok(stack.control("PUT", "/v1/customers/raise/caps/spend", "{\"amount\": \"50\"}", Stack.ADMIN_KEY));
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(50)).untilAsserted(() -> {
            JsonNode spend = limit(usage("raise"), "cap:spend");
            assertThat(spend.get("limit").asText()).isEqualTo("50.00");
            assertThat(spend.get("state").asText()).isEqualTo("ok");
            assertThat(spend.get("thresholds_crossed")).isEmpty();
        });
        assertThat(Duration.ofNanos(System.nanoTime() - raised)).isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void aCustomerKeyCannotReadOrChangeAnotherCustomer() {
        assertThat(stack.control("GET", "/v1/customers/acme/usage", null, ACME_KEY, aggregator.port()).statusCode()).isEqualTo(200);
        assertThat(stack.control("GET", "/v1/customers/globex/usage", null, ACME_KEY, aggregator.port()).statusCode()).isEqualTo(403);
        assertThat(stack.control("PUT", "/v1/customers/globex/caps/x", "{\"amount\": \"1\"}", ACME_KEY).statusCode()).isEqualTo(403);
        assertThat(stack.control("GET", "/v1/customers/globex", null, ACME_KEY).statusCode()).isEqualTo(403);
        assertThat(stack.control("POST", "/v1/customers/acme/grants", "{\"amount\": \"1000\"}", ACME_KEY).statusCode()).isEqualTo(403);
        assertThat(stack.control("PUT", "/v1/customers/acme", "{\"plan\": \"pro\"}", ACME_KEY).statusCode()).isEqualTo(403);
        assertThat(stack.control("GET", "/v1/policy", null, ACME_KEY).statusCode()).isEqualTo(403);
    }

    @Test
    void invalidInputIsRefusedWithEveryProblemNamed() {
        HttpResponse<String> cap = stack.control("PUT", "/v1/customers/acme/caps/bad",
                "{\"amount\": \"-1\", \"period\": \"weekly:funday\", \"timezone\": \"Mars/Olympus\", \"action\": \"explode\"}", Stack.ADMIN_KEY);
        assertThat(cap.statusCode()).isEqualTo(400);
        assertThat(Stack.json(cap).get("error").get("errors").findValuesAsText("field"))
                .containsExactlyInAnyOrder("cap.amount", "cap.period", "cap.timezone", "cap.action");
        HttpResponse<String> policy = stack.control("PUT", "/v1/policy", "plans: {pro: {price: ten}}\ndefault_plan: gold\n", Stack.ADMIN_KEY);
        assertThat(policy.statusCode()).isEqualTo(422);
        assertThat(Stack.json(policy).get("error").get("errors").findValuesAsText("field")).containsExactlyInAnyOrder("plans.pro.price", "default_plan");
        assertThat(policy.body()).contains("unknown plan 'gold'");
    }

    HttpResponse<String> get(String path, String key, String accept) {
        try {
            return stack.http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + aggregator.port() + path))
                    .header("Authorization", "Bearer " + key).header("Accept", accept).GET().build(), HttpResponse.BodyHandlers.ofString());
        } catch (java.io.IOException | InterruptedException e) {
            throw new IllegalStateException(e);
        }
    }

    @Test
    void theUsageSeriesAddsUpToTheRunningTotalsAndAPortalTokenReadsOnlyItsCustomer() {
        // given a customer in New York and usage over the last hours on two features, two models and two keys
        ok(stack.control("PUT", "/v1/customers/nyc", "{\"plan\": \"pro\", \"timezone\": \"America/New_York\"}", Stack.ADMIN_KEY));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(usage("nyc").get("timezone").asText()).isEqualTo("America/New_York"));
        java.time.Instant now = java.time.Instant.now();
        StringBuilder events = new StringBuilder("[");
        for (int i = 0; i < 12; i++) {
            events.append(i == 0 ? "" : ",").append("{\"id\": \"s").append(i).append("\", \"customer\": \"nyc\", \"feature\": \"")
                    .append(i % 3 == 0 ? "search" : "chat").append("\", \"model\": \"").append(i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini")
                    .append("\", \"api_key\": \"key_").append(i % 2).append("\", \"time\": \"").append(now.minus(Duration.ofMinutes(50L * i)))
                    .append("\", \"usage\": {\"input_tokens\": ").append(100_000 * (i + 1)).append(", \"output_tokens\": 1000}}");
        }
        assertThat(stack.postEvents(events.append("]").toString()).statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(usage("nyc").get("features").findValues("events").stream()
                .mapToLong(JsonNode::asLong).sum()).isEqualTo(12));
        JsonNode report = usage("nyc");
        BigDecimal total = new BigDecimal(report.get("total_cost").asText());

        // then hourly and daily series of the billing period so far add up to the running total, per group too
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> {
            for (String granularity : new String[] {"hour", "day"}) {
                HttpResponse<String> response = get("/v1/customers/nyc/usage/series?granularity=" + granularity + "&group_by=feature",
                        Stack.ADMIN_KEY, "application/json");
                assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                JsonNode series = Stack.json(response);
                assertThat(series.get("timezone").asText()).isEqualTo("America/New_York");
                assertThat(new BigDecimal(series.get("total").get("cost").asText())).isEqualByComparingTo(total);
                assertThat(series.get("total").get("events").asLong()).isEqualTo(12);
                BigDecimal byGroups = BigDecimal.ZERO;
                for (JsonNode bucket : series.get("buckets")) {
                    assertThat(bucket.get("start").asText()).matches(".*-0[45]:00"); // local times in New York
                    for (JsonNode group : bucket.get("groups")) {
                        assertThat(group.get("group").asText()).isIn("chat", "search");
                        byGroups = byGroups.add(new BigDecimal(group.get("usage").get("cost").asText()));
                    }
                }
                assertThat(byGroups).isEqualByComparingTo(total);
            }
        });
        HttpResponse<String> csv = get("/v1/customers/nyc/usage/series?granularity=day&group_by=model", Stack.ADMIN_KEY, "text/csv");
        assertThat(csv.headers().firstValue("Content-Type")).hasValueSatisfying(v -> assertThat(v).startsWith("text/csv"));
        assertThat(csv.body()).startsWith("bucket_start,bucket_end,model,cost,included,grant_covered,billed,events\n").contains(",gpt-4o-mini,");
        assertThat(csv.body().lines().skip(1).map(l -> new BigDecimal(l.split(",")[3])).reduce(BigDecimal.ZERO, BigDecimal::add))
                .isEqualByComparingTo(total);
        HttpResponse<String> bad = get("/v1/customers/nyc/usage/series?granularity=week&from=yesterday", Stack.ADMIN_KEY, "application/json");
        assertThat(bad.statusCode()).isEqualTo(400);
        assertThat(Stack.json(bad).get("error").get("errors").findValuesAsText("field")).containsExactly("granularity", "from");
        // at most 1,000 buckets, counted in the customer's days: 1,000 local days are listed, 1,001 are refused naming `to`
        java.time.LocalDate today = java.time.LocalDate.now(java.time.ZoneId.of("America/New_York"));
        HttpResponse<String> thousandDays = get("/v1/customers/nyc/usage/series?granularity=day&from=" + today + "&to=" + today.plusDays(1000),
                Stack.ADMIN_KEY, "application/json");
        assertThat(thousandDays.statusCode()).as(thousandDays.body()).isEqualTo(200);
        assertThat(Stack.json(thousandDays).get("buckets")).hasSize(1000);
        HttpResponse<String> tooManyDays = get("/v1/customers/nyc/usage/series?granularity=day&from=" + today + "&to=" + today.plusDays(1001),
                Stack.ADMIN_KEY, "application/json");
        assertThat(tooManyDays.statusCode()).isEqualTo(400);
        assertThat(Stack.json(tooManyDays).get("error").get("errors").get(0).get("field").asText()).isEqualTo("to");
        assertThat(Stack.json(tooManyDays).get("error").get("errors").get(0).get("message").asText())
                .isEqualTo("at most 1000 days from from; ask for a shorter span");
        HttpResponse<String> tooManyHours = get("/v1/customers/nyc/usage/series?granularity=hour&from=" + today + "&to=" + today.plusDays(42),
                Stack.ADMIN_KEY, "application/json");
        assertThat(Stack.json(tooManyHours).get("error").get("errors").get(0).get("message").asText())
                .isEqualTo("at most 1000 hours from from; ask for a shorter span or granularity=day");

        // a portal token minted by an admin reads its customer's usage and sets its caps, on the query and the ingest services
        HttpResponse<String> refused = stack.control("POST", "/v1/customers/nyc/portal-tokens", "{}", Stack.ACME_KEY, aggregator.port());
        assertThat(refused.statusCode()).isEqualTo(403);
        HttpResponse<String> minted = stack.control("POST", "/v1/customers/nyc/portal-tokens", "{\"ttl_seconds\": 600}", Stack.ADMIN_KEY,
                aggregator.port());
        assertThat(minted.statusCode()).as(minted.body()).isEqualTo(201);
        String token = Stack.json(minted).get("token").asText();
        assertThat(Stack.json(minted).get("portal_path").asText()).isEqualTo("/portal#token=" + token);
        assertThat(get("/v1/customers/nyc/usage/series", token, "application/json").statusCode()).isEqualTo(200);
        assertThat(get("/v1/customers/nyc/usage", token, "application/json").statusCode()).isEqualTo(200);
        // the customer's own series reads are bounded (2 a second, bursts of 20); an admin's are not
        int refusedAt = -1;
        for (int i = 0; i < 40 && refusedAt < 0; i++) {
            HttpResponse<String> read = get("/v1/customers/nyc/usage/series", token, "application/json");
            if (read.statusCode() == 429) {
                refusedAt = i;
                assertThat(read.body()).contains("\"code\":\"series_rate_limited\"");
                assertThat(read.headers().firstValue("Retry-After")).isPresent();
            } else {
                assertThat(read.statusCode()).isEqualTo(200);
            }
        }
        assertThat(refusedAt).as("the first refusal, after the burst").isBetween(15, 35);
        assertThat(get("/v1/customers/nyc/usage/series", Stack.ADMIN_KEY, "application/json").statusCode()).isEqualTo(200);
        assertThat(get("/v1/customers/nyc/usage", token, "application/json").statusCode()).isEqualTo(200); // other reads are not
        assertThat(get("/v1/customers/acme/usage", token, "application/json").statusCode()).isEqualTo(403);
        ok(stack.control("PUT", "/v1/customers/nyc/caps/daily", "{\"amount\": \"50\", \"period\": \"daily\"}", token));
        assertThat(stack.control("PUT", "/v1/customers/acme/caps/daily", "{\"amount\": \"50\"}", token).statusCode()).isEqualTo(403);
        // an expired token, or one signed with another key, is no key at all
        String expired = io.capstream.runtime.PortalTokens.parse(io.capstream.testkit.TestSecrets.PORTAL_KEYS).mint("nyc", now.minusSeconds(1));
        String foreign = io.capstream.runtime.PortalTokens.parse("test:" + java.util.Base64.getEncoder().encodeToString(new byte[32]))
                .mint("nyc", now.plusSeconds(600));
        assertThat(get("/v1/customers/nyc/usage", expired, "application/json").statusCode()).isEqualTo(401);
        assertThat(get("/v1/customers/nyc/usage", foreign, "application/json").statusCode()).isEqualTo(401);

        // the customer's other reads (usage, decisions, history) are bounded too: 10 a second, bursts of 100, one bucket for all;
        // refused once the burst and what refilled meanwhile (10 a second) are spent
        long started = System.nanoTime();
        int usageRefusedAt = -1;
        for (int i = 0; i < 400 && usageRefusedAt < 0; i++) {
            HttpResponse<String> read = get("/v1/customers/nyc/usage", token, "application/json");
            if (read.statusCode() == 429) {
                usageRefusedAt = i;
                assertThat(read.body()).contains("\"code\":\"reads_rate_limited\"", "at most 10 times a second");
                assertThat(read.headers().firstValue("Retry-After")).hasValue("1");
            } else {
                assertThat(read.statusCode()).isEqualTo(200);
            }
        }
        assertThat(usageRefusedAt).as("the first refusal (two reads of the token above may not have refilled)").isBetween(97, 101 + (int) Math.ceil((System.nanoTime() - started) / 1e8)); // a token each 0.1 s
        // decisions and history take from the same, now empty bucket: refused within the few reads that refill meanwhile
        // (a token each 0.1 s; a bucket of their own would serve a burst of 100)
        for (String read : List.of("/v1/customers/nyc/decisions", "/v1/customers/nyc/history")) {
            List<Integer> statuses = new ArrayList<>();
            while (statuses.size() < 5 && !statuses.contains(429)) {
                statuses.add(get(read, token, "application/json").statusCode());
            }
            assertThat(statuses).as(read).contains(429);
        }
        assertThat(get("/v1/customers/nyc/usage", Stack.ADMIN_KEY, "application/json").statusCode()).isEqualTo(200);
    }

    @Test
    void everyChangeIsInTheCustomersHistoryWithWhoWhenWhatBeforeAndAfter() throws Exception {
        java.net.http.HttpClient http = java.net.http.HttpClient.newHttpClient();
        HttpResponse<String> first = http.send(java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + stack.ingest.port()
                        + "/v1/customers/acme/caps/audited")).header("Authorization", "Bearer " + Stack.ADMIN_KEY).header("X-Request-Id", "req-audit-1")
                .PUT(java.net.http.HttpRequest.BodyPublishers.ofString("{\"amount\": \"5\"}")).build(), HttpResponse.BodyHandlers.ofString());
        assertThat(first.statusCode()).as(first.body()).isEqualTo(200);
        assertThat(first.headers().firstValue("X-Request-Id")).contains("req-audit-1");
        ok(stack.control("PUT", "/v1/customers/acme/caps/audited", "{\"amount\": \"7\"}", ACME_KEY));
        ok(stack.control("DELETE", "/v1/customers/acme/caps/audited", "", ACME_KEY));
        HttpResponse<String> reset = stack.control("POST", "/v1/customers/acme/runaway/reset", "", Stack.ADMIN_KEY);
        assertThat(reset.statusCode()).as(reset.body()).isEqualTo(202);

        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
            HttpResponse<String> history = stack.control("GET", "/v1/customers/acme/history?limit=4", "", Stack.ADMIN_KEY, aggregator.port());
            assertThat(history.statusCode()).as(history.body()).isEqualTo(200);
            JsonNode changes = Stack.json(history).get("changes");
            assertThat(field(changes, "action")).containsExactly("runaway.reset", "cap.delete", "cap.put", "cap.put");
            assertThat(field(changes, "actor")).containsExactly("admin", "acme", "acme", "admin");
            assertThat(changes.get(3).get("request_id").asText()).isEqualTo("req-audit-1");
            assertThat(changes.get(2).get("target").asText()).isEqualTo("audited");
            assertThat(cap(changes.get(2).get("before"), "audited").get("amount").asText()).isEqualTo("5.00");
            assertThat(cap(changes.get(2).get("after"), "audited").get("amount").asText()).isEqualTo("7.00");
            assertThat(cap(changes.get(1).get("after"), "audited")).isNull();
        });
        // the customer's own key sees the changes of its caps only
        JsonNode own = Stack.json(stack.control("GET", "/v1/customers/acme/history", "", ACME_KEY, aggregator.port())).get("changes");
        assertThat(field(own, "action")).doesNotContain("runaway.reset", "customer.update").contains("cap.delete", "cap.put");
        assertThat(stack.control("GET", "/v1/customers/acme/history?limit=0", "", Stack.ADMIN_KEY, aggregator.port()).body()).contains("limit");
    }

    /** One top-level field of every change (before and after hold fields of the same names). */
    static java.util.List<String> field(JsonNode changes, String name) {
        java.util.List<String> values = new java.util.ArrayList<>();
        changes.forEach(c -> values.add(c.get(name).asText()));
        return values;
    }

    static JsonNode cap(JsonNode customer, String id) {
        for (JsonNode c : customer.get("caps")) {
            if (c.get("id").asText().equals(id)) {
                return c;
            }
        }
        return null;
    }
}

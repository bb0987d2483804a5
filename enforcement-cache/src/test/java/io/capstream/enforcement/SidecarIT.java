package io.capstream.enforcement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.Json;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.SharedStack;
import io.capstream.testkit.TopicNames;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The sidecar over real HTTP, fed from a real broker: each outcome of DESIGN 4.5. */
class SidecarIT {
    static final String KEY = "check-key";
    static final String POLICY = """
            models:
              gpt-4o: {tier: premium, downgrade_to: gpt-4o-mini, prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
              gpt-4o-mini: {tier: standard, prices: {input_tokens: "0.15/1M", output_tokens: "0.60/1M"}}
              claude-opus: {tier: frontier, prices: {input_tokens: "15/1M"}}
            plans:
              pro:
                model_tiers: [standard, premium]
                rate_limits: {requests_per_minute_per_key: 3}
            default_plan: pro
            links:
              raise_cap: "https://app.example.com/limits?customer={customer}&limit={limit}"
            """;
    static Topics topics;
    static EnforcementService sidecar;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        topics = new Topics(TopicNames.prefixFor("sidecar-it"));
        SharedStack.kafka().createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
        SchemaRegistryClient registry = new SchemaRegistryClient(SharedStack.registry().url());
        Map<String, Object> kafka = Map.of("bootstrap.servers", SharedStack.kafka().bootstrapServers());
        try (PolicyPublisher publisher = new PolicyPublisher(kafka, registry, true, topics)) {
            publisher.publish(POLICY, Instant.now());
        }
        Instant now = Instant.now();
        Instant periodStart = ResetSchedule.parse("billing").periodAt(now, ZoneId.of("UTC")).start();
        try (KafkaProducer<String, CustomerRecord> customers = new KafkaProducer<>(kafka, new StringSerializer(),
                RegistryAvroSerde.of(CustomerRecord.class, registry, true));
             KafkaProducer<String, LimitUsage> usage = new KafkaProducer<>(kafka, new StringSerializer(),
                     RegistryAvroSerde.of(LimitUsage.class, registry, true))) {
            customers.send(new ProducerRecord<>(topics.customers(), "capped", CustomerMapping.toRecord(customer("capped", LimitAction.BLOCK, false), now)));
            customers.send(new ProducerRecord<>(topics.customers(), "thrifty", CustomerMapping.toRecord(customer("thrifty", LimitAction.DOWNGRADE, false), now)));
            customers.send(new ProducerRecord<>(topics.customers(), "bigco", CustomerMapping.toRecord(customer("bigco", LimitAction.BLOCK, true), now)));
            customers.send(new ProducerRecord<>(topics.customers(), "raiser", CustomerMapping.toRecord(customer("raiser", LimitAction.BLOCK, false), now)));
            for (String c : List.of("capped", "thrifty", "bigco", "raiser")) {
                usage.send(new ProducerRecord<>(topics.usageAggregates(), c + "|cap:budget|" + periodStart, LimitUsage.newBuilder()
                        .setCustomer(c).setLimitId("cap:budget").setKind("cap").setFeature(null).setPeriodStart(periodStart)
                        .setPeriodEnd(periodStart.plus(Duration.ofDays(28))).setQuantities(List.of()).setCost(Decimals.money(BigDecimal.ZERO))
                        .setEvents(1).setUpdatedAt(now).setUsed(Decimals.money(new BigDecimal("9.999"))).build()));
            }
            customers.flush();
            usage.flush();
        }
        Path keys = Files.createTempFile("keys", ".txt");
        Files.writeString(keys, "svc sha256:" + ApiKeys.hash(KEY) + " check\n");
        sidecar = new EnforcementService(EnforcementConfig.from(Map.of(
                EnforcementConfig.BOOTSTRAP_SERVERS, SharedStack.kafka().bootstrapServers(),
                RegistryAvroSerde.REGISTRY_URL, SharedStack.registry().url(), RegistryAvroSerde.AUTO_REGISTER, "true",
                EnforcementConfig.TOPIC_PREFIX, topics.prefix(), EnforcementConfig.HTTP_HOST, "127.0.0.1", EnforcementConfig.HTTP_PORT, "0",
                EnforcementConfig.API_KEYS_FILE, keys.toString())), Clock.systemUTC());
        await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.enforcer().ready());
    }

    static Customer customer(String id, LimitAction action, boolean noHardCaps) {
        Cap budget = new Cap("budget", "Team budget", new BigDecimal("10"), Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"),
                Optional.empty(), false, false, Cap.DEFAULT_THRESHOLDS, action, false, Optional.empty());
        return new Customer(id, "pro", ZoneId.of("UTC"), 1, Customer.Contacts.NONE, noHardCaps, Customer.Status.ACTIVE, List.of(budget), List.of());
    }

    @AfterAll
    static void stop() {
        sidecar.close();
    }

    HttpResponse<String> check(String json) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + sidecar.port() + "/v1/check"))
                .header("Authorization", "Bearer " + KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build(), HttpResponse.BodyHandlers.ofString());
    }

    static JsonNode json(HttpResponse<String> r) throws Exception {
        return Json.MAPPER.readTree(r.body());
    }

    @Test
    void overTheCapIs402NamingTheCapUsedLimitResetAndRaiseCapLink() throws Exception {
        HttpResponse<String> r = check("""
                {"customer": "capped", "api_key": "k1", "feature": "chat", "model": "gpt-4o", "estimate": {"input_tokens": 1000}}""");
        assertThat(r.statusCode()).isEqualTo(402);
        JsonNode error = json(r).get("error");
        assertThat(error.get("code").asText()).isEqualTo("spend_cap_reached");
        assertThat(error.get("limit").get("id").asText()).isEqualTo("cap:budget");
        assertThat(error.get("limit").get("used").asText()).isEqualTo("9.999");
        assertThat(error.get("limit").get("limit").asText()).isEqualTo("10.00");
        assertThat(error.get("limit").get("resets_at").asText()).endsWith("Z");
        assertThat(error.get("limit").get("raise_cap_url").asText()).contains("customer=capped");
        assertThat(error.get("message").asText()).contains("Team budget", "$10.00", "Raise the cap");
    }

    @Test
    void aRaisedCapReachesDecisionsWithinOneSecond() throws Exception {
        String request = """
                {"customer": "raiser", "api_key": "k6", "feature": "chat", "model": "gpt-4o", "estimate": {"input_tokens": 1000}}""";
        assertThat(check(request).statusCode()).isEqualTo(402);
        Customer raised = customer("raiser", LimitAction.BLOCK, false);
        raised = raised.withCaps(List.of(raised.caps().getFirst().withAmount(new BigDecimal("20"))));
        SchemaRegistryClient registry = new SchemaRegistryClient(SharedStack.registry().url());
        try (KafkaProducer<String, CustomerRecord> customers = new KafkaProducer<>(Map.of("bootstrap.servers", SharedStack.kafka().bootstrapServers()),
                new StringSerializer(), RegistryAvroSerde.of(CustomerRecord.class, registry, true))) {
            customers.send(new ProducerRecord<>(topics.customers(), "raiser", CustomerMapping.toRecord(raised, Instant.now()))).get();
        }
        long written = System.nanoTime();
        await().atMost(Duration.ofSeconds(1)).pollInterval(Duration.ofMillis(20)).until(() -> check(request).statusCode() == 200);
        assertThat(Duration.ofNanos(System.nanoTime() - written)).isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void refusalsAreInTheDecisionLog() throws Exception {
        assertThat(check("""
                {"customer": "capped", "api_key": "k5", "feature": "chat", "model": "gpt-4o", "estimate": {"input_tokens": 5000}}""")
                .statusCode()).isEqualTo(402);
        Map<String, Object> props = Map.of("bootstrap.servers", SharedStack.kafka().bootstrapServers(), "group.id", "decision-log-check",
                "auto.offset.reset", "earliest");
        try (var consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(props, new org.apache.kafka.common.serialization.StringDeserializer(),
                RegistryAvroSerde.of(io.capstream.schemas.EnforcementDecision.class, new SchemaRegistryClient(SharedStack.registry().url()), false))) {
            consumer.subscribe(List.of(topics.enforcementDecisions()));
            List<io.capstream.schemas.EnforcementDecision> seen = new java.util.ArrayList<>();
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> seen.add(r.value()));
                return seen.stream().anyMatch(d -> d.getCustomer().equals("capped") && d.getCode().equals("spend_cap_reached"));
            });
        }
    }

    @Test
    void aDowngradeCapAnswersWithTheCheaperModel() throws Exception {
        // $9.999 used of $10: 1,000 tokens of gpt-4o ($0.0025) would pass the cap, of gpt-4o-mini ($0.00015) would not
        HttpResponse<String> r = check("""
                {"customer": "thrifty", "api_key": "k2", "feature": "chat", "model": "gpt-4o", "estimate": {"input_tokens": 1000}}""");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).get("decision").asText()).isEqualTo("downgrade");
        assertThat(json(r).get("model").asText()).isEqualTo("gpt-4o-mini");
    }

    @Test
    void aModelOutsideThePlanIs403() throws Exception {
        HttpResponse<String> r = check("""
                {"customer": "newcomer", "api_key": "k3", "feature": "chat", "model": "claude-opus", "estimate": {"input_tokens": 1}}""");
        assertThat(r.statusCode()).isEqualTo(403);
        assertThat(json(r).get("error").get("code").asText()).isEqualTo("model_not_allowed");
    }

    @Test
    void aNoisyKeyGets429WithRetryAfterWhileAnotherKeyOfTheCustomerIsAllowed() throws Exception {
        String noisy = """
                {"customer": "burst", "api_key": "noisy", "feature": "chat", "model": "gpt-4o-mini", "estimate": {"input_tokens": 1}}""";
        for (int i = 0; i < 3; i++) {
            assertThat(check(noisy).statusCode()).isEqualTo(200);
        }
        HttpResponse<String> limited = check(noisy);
        assertThat(limited.statusCode()).isEqualTo(429);
        assertThat(limited.headers().firstValue("Retry-After")).isPresent();
        assertThat(limited.headers().firstValue("RateLimit-Policy")).contains("\"per-key\";q=3;w=60");
        assertThat(limited.headers().firstValue("RateLimit")).hasValueSatisfying(v -> assertThat(v).startsWith("\"per-key\";r=0;t="));
        assertThat(check(noisy.replace("noisy", "quiet")).statusCode()).isEqualTo(200);
    }

    @Test
    void anEnterpriseOverrideNeverBlocks() throws Exception {
        HttpResponse<String> r = check("""
                {"customer": "bigco", "api_key": "k4", "feature": "chat", "model": "gpt-4o", "estimate": {"input_tokens": 100000}}""");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(json(r).get("decision").asText()).isEqualTo("warn");
    }
}

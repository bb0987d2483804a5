package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementService;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import io.capstream.testkit.SharedStack;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.registry.SchemaRegistryClient;
import java.math.BigDecimal;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * The runaway circuit breaker on the real cluster: a replayed week of normal traffic, then a spike of 12 times the
 * baseline through ingest; the sidecar refuses with 429 circuit_open, and a reset through the control API lets it
 * through again.
 */
class RunawayIT {
    static final String CHECK = "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": {\"requests\": 1}}";

    @Test
    void aWeekOfNormalTrafficThenASpikeOpensTheBreakerInTheSidecarAndAResetClosesIt() throws Exception {
        Stack stack = new Stack("runaway-it", "/runaway-policy.yaml");
        keepOldRecords(stack);
        AggregatorService aggregator = stack.aggregator(0);
        try (EnforcementService sidecar = stack.sidecar(aggregator.port(), 1000)) {
            await().atMost(Duration.ofSeconds(60)).until(() -> aggregator.streams().state() == KafkaStreams.State.RUNNING);
            HttpClient http = HttpClient.newHttpClient();

            // a week replayed with its own times: the hour of the spike costs $30 on the busiest day ($0.50 a minute, the baseline)
            Instant now = Instant.now();
            int[] perHour = {12, 30, 18, 6, 24, 12, 18};
            try (KafkaProducer<String, UsageEvent> producer = new KafkaProducer<>(Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, stack.bootstrap,
                    ProducerConfig.ACKS_CONFIG, "all"), new StringSerializer(), RegistryAvroSerde.of(UsageEvent.class, new SchemaRegistryClient(stack.registryUrl), true))) {
                for (int day = 7; day >= 1; day--) {
                    Instant hour = now.minus(Duration.ofDays(day)).truncatedTo(ChronoUnit.HOURS);
                    int n = perHour[7 - day];
                    for (int i = 0; i < n; i++) {
                        Instant t = hour.plusSeconds(3600L * i / n);
                        UsageEvent e = UsageEvent.newBuilder().setId("week-" + day + "-" + i).setSource("replay").setCustomer("acme").setFeature("chat")
                                .setTime(t).setUsage(List.of(new Quantity("requests", null, new BigDecimal("1.000000000")))).build();
                        producer.send(new ProducerRecord<>(stack.topics.usageEvents(), null, t.toEpochMilli(), "acme", e));
                    }
                }
                producer.flush();
            }
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                    assertThat(SidecarFailoverIT.check(http, sidecar.port(), CHECK).statusCode()).isEqualTo(200));

            // the spike: $6 in the last minute and $6 in this one, through ingest (the trip rate is $5 a minute)
            Instant minute = Instant.now().truncatedTo(ChronoUnit.MINUTES);
            Duration seen = spike(stack, http, sidecar, minute.minus(Duration.ofMinutes(1)), "first");
            HttpResponse<String> refused = SidecarFailoverIT.check(http, sidecar.port(), CHECK);
            JsonNode error = Stack.json(refused).get("error");
            assertThat(error.get("code").asText()).isEqualTo("circuit_open");
            assertThat(error.get("message").asText()).contains("acme ran at $6.00 a minute, 12 times its usual $0.50 a minute")
                    .contains("POST /v1/customers/acme/runaway/reset");
            assertThat(error.get("limit").get("id").asText()).isEqualTo("runaway");
            assertThat(error.get("limit").get("limit").asText()).isEqualTo("5.00");
            long retryAfter = Long.parseLong(refused.headers().firstValue("Retry-After").orElseThrow());
            assertThat(retryAfter).isBetween(14 * 60L, 15 * 60L);

            // the customer sees it in its usage report: what tripped it, when it closes, how to close it
            JsonNode open = Stack.json(stack.usage(aggregator.port(), "acme")).get("runaway");
            assertThat(open).singleElement().satisfies(b -> {
                assertThat(b.get("action").asText()).isEqualTo("block");
                assertThat(b.get("rate").asText()).isEqualTo("6.00");
                assertThat(b.get("baseline").asText()).isEqualTo("0.50");
                assertThat(b.get("trip_rate").asText()).isEqualTo("5.00");
                assertThat(b.get("message").asText()).contains("POST /v1/customers/acme/runaway/reset");
            });

            // the customer resets it (its own key): requests go through again
            HttpResponse<String> reset = stack.control("POST", "/v1/customers/acme/runaway/reset", "", Stack.ACME_KEY);
            assertThat(reset.statusCode()).as(reset.body()).isEqualTo(202);
            await().atMost(Duration.ofSeconds(10)).pollInterval(Duration.ofMillis(50)).untilAsserted(() ->
                    assertThat(SidecarFailoverIT.check(http, sidecar.port(), CHECK).statusCode()).isEqualTo(200));
            assertThat(Stack.json(stack.usage(aggregator.port(), "acme")).get("runaway")).isEmpty();

            // the same spike again in the next two minutes: it trips again (its rates were measured afresh after the reset)
            Duration again = spike(stack, http, sidecar, minute.plus(Duration.ofMinutes(1)), "again");
            // the customer's own key may reset once per cool-down (15 minutes here): a second reset now is refused, an admin's is not
            HttpResponse<String> early = stack.control("POST", "/v1/customers/acme/runaway/reset", "", Stack.ACME_KEY);
            assertThat(early.statusCode()).as(early.body()).isEqualTo(429);
            assertThat(Stack.json(early).get("error").get("code").asText()).isEqualTo("reset_too_soon");
            assertThat(Long.parseLong(early.headers().firstValue("Retry-After").orElseThrow())).isBetween(13 * 60L, 15 * 60L);
            HttpResponse<String> byAdmin = stack.control("POST", "/v1/customers/acme/runaway/reset", "", Stack.ADMIN_KEY);
            assertThat(byAdmin.statusCode()).as(byAdmin.body()).isEqualTo(202);
            // both trips and the sidecar's circuit_open refusals are in the decision metrics of the pro plan's chat (any instance answers)
            String today = java.time.LocalDate.now(java.time.ZoneOffset.UTC).toString();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                HttpResponse<String> analytics = stack.control("GET", "/v1/analytics/limits?plan=pro&feature=chat&from=" + today, "",
                        Stack.ADMIN_KEY, aggregator.port());
                assertThat(analytics.statusCode()).as(analytics.body()).isEqualTo(200);
                JsonNode day = Stack.json(analytics).get("rows").get(0);
                assertThat(day.get("breaker_trips").asLong()).isEqualTo(2);
                assertThat(day.get("refusals").get("circuit_open").asLong()).isPositive();
                assertThat(day.get("customers_checked").asLong()).isEqualTo(1);
            });
            System.out.println("runaway breaker seen by the sidecar " + seen.toMillis() + " ms (first, with the schema registered on first use) and "
                    + again.toMillis() + " ms (again) after ingest accepted the spike");
        } finally {
            aggregator.close();
            stack.close();
        }
    }

    /**
     * $6 of requests in the minute from {@code first} and $6 in the next, through ingest; how long until the sidecar refuses
     * after ingest accepted them (polled every 20 ms).
     */
    static Duration spike(Stack stack, HttpClient http, EnforcementService sidecar, Instant first, String name) {
        StringBuilder spike = new StringBuilder("[");
        for (int i = 0; i < 12; i++) {
            Instant t = first.plusSeconds(i < 6 ? 10 + i : 60 + i);
            spike.append(i == 0 ? "" : ",").append("{\"id\": \"spike-").append(name).append('-').append(i)
                    .append("\", \"customer\": \"acme\", \"feature\": \"chat\", \"time\": \"").append(t).append("\", \"usage\": {\"requests\": 1}}");
        }
        HttpResponse<String> accepted = stack.postEvents(spike.append(']').toString());
        assertThat(accepted.statusCode()).as(accepted.body()).isEqualTo(202);
        long sent = System.nanoTime();
        await().atMost(Duration.ofSeconds(5)).pollInterval(Duration.ofMillis(20)).untilAsserted(() ->
                assertThat(SidecarFailoverIT.check(http, sidecar.port(), CHECK).statusCode()).isEqualTo(429));
        return Duration.ofNanos(System.nanoTime() - sent);
    }

    /** The replayed week's records carry week-old timestamps: keep them (the production retention is the late window plus a day). */
    static void keepOldRecords(Stack stack) throws Exception {
        try (Admin admin = SharedStack.kafka().admin()) {
            AlterConfigOp keep = new AlterConfigOp(new ConfigEntry("retention.ms", "-1"), AlterConfigOp.OpType.SET);
            admin.incrementalAlterConfigs(Map.of(new ConfigResource(ConfigResource.Type.TOPIC, stack.topics.usageEvents()), List.of(keep)))
                    .all().get(30, TimeUnit.SECONDS);
        }
    }
}

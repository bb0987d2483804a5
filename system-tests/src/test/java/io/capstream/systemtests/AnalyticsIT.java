package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementConfig;
import io.capstream.enforcement.EnforcementService;
import io.capstream.schemas.topics.UsageKey;
import java.math.BigDecimal;
import java.net.http.HttpClient;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.util.Map;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * The decision metrics on the real cluster: a sidecar's refusals and allows (every allow logged), a customer's usage and
 * a cap it reached, counted exactly in the pro plan's chat metrics of the day, read through the analytics API.
 */
class AnalyticsIT {
    @Test
    void refusalsAllowsCustomersAndAReachedCapAddUpInTheDaysMetrics() throws Exception {
        Stack stack = new Stack("analytics-it", "/runaway-policy.yaml"); // pro by default: $1 a request
        AggregatorService aggregator = stack.aggregator(0);
        try (EnforcementService sidecar = stack.sidecar("http://127.0.0.1:" + aggregator.port(), 1000,
                Map.of(EnforcementConfig.SAMPLE_ALLOWS, "1.0"))) {
            await().atMost(Duration.ofSeconds(60)).until(() -> aggregator.streams().state() == KafkaStreams.State.RUNNING);
            HttpClient http = HttpClient.newHttpClient();
            HttpResponse<String> cap = stack.control("PUT", "/v1/customers/acme/caps/budget", "{\"amount\": \"2.00\"}", Stack.ADMIN_KEY);
            assertThat(cap.statusCode()).as(cap.body()).isEqualTo(200);
            // acme books $3 against its $2 budget (the cap reaches 80 % and 100 % at once)
            Instant now = Instant.now();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(Stack.json(stack.usage(aggregator.port(), "acme"))
                    .get("limits").findValuesAsText("id")).contains("cap:budget"));
            assertThat(stack.postEvents("{\"id\": \"u1\", \"customer\": \"acme\", \"feature\": \"chat\", \"usage\": {\"requests\": 3}}").statusCode())
                    .isEqualTo(202);
            String periodStart = Stack.json(stack.usage(aggregator.port(), "acme")).get("limits").findValues("period_start").getFirst().asText();
            String key = UsageKey.of("acme", "cap:budget", java.time.OffsetDateTime.parse(periodStart).toInstant());
            await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.enforcer().knownTotal(key).map(t -> t.compareTo(BigDecimal.valueOf(3)) >= 0)
                    .orElse(false));

            // then 3 checks of acme are refused ($1 each) and 2 of beta allowed: nothing else is checked
            String acme = "{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": {\"requests\": 1}}";
            String beta = "{\"customer\": \"beta\", \"feature\": \"chat\", \"estimate\": {\"requests\": 1}}";
            for (int i = 0; i < 3; i++) {
                assertThat(SidecarFailoverIT.check(http, sidecar.port(), acme).statusCode()).isEqualTo(402);
            }
            for (int i = 0; i < 2; i++) {
                assertThat(SidecarFailoverIT.check(http, sidecar.port(), beta).statusCode()).isEqualTo(200);
            }

            String today = LocalDate.ofInstant(now, ZoneOffset.UTC).toString();
            await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofMillis(200)).untilAsserted(() -> {
                HttpResponse<String> answer = stack.control("GET", "/v1/analytics/limits?plan=pro&feature=chat&from=" + today, "",
                        Stack.ADMIN_KEY, aggregator.port());
                assertThat(answer.statusCode()).as(answer.body()).isEqualTo(200);
                JsonNode day = Stack.json(answer).get("rows").get(0);
                assertThat(day.get("checks").asLong()).isEqualTo(5);
                assertThat(day.get("allows").asLong()).isEqualTo(2);
                assertThat(day.get("refusals").get("spend_cap_reached").asLong()).isEqualTo(3);
                assertThat(day.get("customers_checked").asLong()).isEqualTo(2);
                assertThat(day.get("customers_hard").asLong()).isEqualTo(1);
                assertThat(day.get("hard_hit_rate").asText()).isEqualTo("50.0");
                assertThat(day.get("blocked_cost").asText()).isEqualTo("3.00");
                assertThat(day.get("customers_active").asLong()).isEqualTo(1);
                assertThat(day.get("limits")).isEmpty();
                // the cap is on all of acme's spend: its hit rates are under feature *, among the customers with any usage
                HttpResponse<String> all = stack.control("GET", "/v1/analytics/limits?plan=pro&feature=*&from=" + today, "",
                        Stack.ADMIN_KEY, aggregator.port());
                JsonNode allDay = Stack.json(all).get("rows").get(0);
                assertThat(allDay.get("customers_active").asLong()).isEqualTo(1);
                assertThat(allDay.get("limits")).singleElement().satisfies(l -> {
                    assertThat(l.get("limit_id").asText()).isEqualTo("cap:budget");
                    assertThat(l.get("customers_100").asLong()).isEqualTo(1);
                    assertThat(l.get("share_100").asText()).isEqualTo("100.0");
                });
            });
            // an admin key is needed
            assertThat(stack.control("GET", "/v1/analytics/limits", "", Stack.ACME_KEY, aggregator.port()).statusCode()).isEqualTo(403);
            assertThat(stack.control("GET", "/v1/analytics/limits?granularity=month", "", Stack.ADMIN_KEY, aggregator.port()).body())
                    .contains("granularity");
        } finally {
            aggregator.close();
            stack.close();
        }
    }
}

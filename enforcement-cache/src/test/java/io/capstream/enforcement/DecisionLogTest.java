package io.capstream.enforcement;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.schemas.EnforcementDecision;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.producer.MockProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.junit.jupiter.api.Test;

/** The decision log folds repeated warnings and refusals into one record a second, and counts every one of them. */
class DecisionLogTest {
    static final Instant T = Instant.parse("2026-11-22T10:00:00Z");

    static CheckRequest check(String customer) {
        return new CheckRequest(customer, null, null, "chat", null, Map.of(), Optional.empty());
    }

    static Decision.LimitInfo budget() {
        return new Decision.LimitInfo("cap:budget", "budget", "USD", "0.95", "1.00", "95", OffsetDateTime.parse("2026-12-01T00:00Z"), "UTC",
                Optional.empty(), Optional.empty(), Optional.empty());
    }

    @Test
    void repeatsOfOneCustomerCodeAndLimitAreWrittenOnceASecondAndAllCounted() {
        MockProducer<String, EnforcementDecision> producer = new MockProducer<>(true, null, new StringSerializer(), (Serializer<EnforcementDecision>) (t, d) -> new byte[0]);
        DecisionLog log = new DecisionLog(producer, "decisions", 0.0, 10_000, "test", new SimpleMeterRegistry(),
                java.time.Clock.fixed(T, java.time.ZoneOffset.UTC));
        Decision warn = Decision.allowed(List.of(budget()));
        Decision refused = Decision.refused(Decision.Code.SPEND_CAP_REACHED, "Your budget is used up.", Optional.of(budget()), Optional.empty());
        for (int i = 0; i < 1_000; i++) {
            log.decided(check("acme"), warn, T.plusMillis(i % 1000));          // one second
            log.decided(check("acme"), refused, T.plusMillis(1000 + i % 500)); // the next second
        }
        log.decided(check("globex"), warn, T);
        log.decided(check("acme"), Decision.allowed(List.of()), T); // allows are sampled (here: none)
        log.close();

        List<EnforcementDecision> written = producer.history().stream().map(ProducerRecord::value).toList();
        assertThat(written.stream().filter(d -> d.getCustomer().equals("acme") && d.getCode().equals("warn")).mapToInt(EnforcementDecision::getRepresents).sum())
                .isEqualTo(1_000);
        assertThat(written.stream().filter(d -> d.getCode().equals("spend_cap_reached")).mapToInt(EnforcementDecision::getRepresents).sum())
                .isEqualTo(1_000);
        assertThat(written.stream().filter(d -> d.getCustomer().equals("globex")).mapToInt(EnforcementDecision::getRepresents).sum()).isEqualTo(1);
        assertThat(written.stream().filter(d -> d.getCode().equals("allow"))).isEmpty();
        // the first of each second at once, the rest folded into at most one more record each
        assertThat(written).hasSizeLessThanOrEqualTo(5);
    }

    @Test
    void refusalsCarryTheirCostDowngradesTheirSavingsAndASampledAllowStandsForOneOverTheRate() {
        MockProducer<String, EnforcementDecision> producer = new MockProducer<>(true, null, new StringSerializer(), (Serializer<EnforcementDecision>) (t, d) -> new byte[0]);
        DecisionLog log = new DecisionLog(producer, "decisions", 1.0 / 100, 10_000, "test", new SimpleMeterRegistry(),
                java.time.Clock.fixed(T, java.time.ZoneOffset.UTC));
        // $0.10 a request on gpt-4o, $0.01 on gpt-4o-mini
        log.costing((request, model) -> "gpt-4o".equals(model) ? new java.math.BigDecimal("0.10") : new java.math.BigDecimal("0.01"));
        CheckRequest big = new CheckRequest("acme", null, null, "chat", "gpt-4o", Map.of(), Optional.empty());
        Decision refused = Decision.refused(Decision.Code.SPEND_CAP_REACHED, "Your budget is used up.", Optional.of(budget()), Optional.empty());
        for (int i = 0; i < 30; i++) {
            log.decided(big, refused, T.plusMillis(i)); // one second: the first record and one folding the other 29
        }
        log.decided(big, Decision.downgraded("gpt-4o-mini", "over a limit", Optional.of(budget()), List.of()), T);
        for (int i = 0; i < 10_000; i++) {
            log.decided(big, Decision.allowed(List.of()), T);
        }
        log.close();

        List<EnforcementDecision> written = producer.history().stream().map(ProducerRecord::value).toList();
        assertThat(written.stream().filter(d -> d.getDecision().equals("refuse")).map(EnforcementDecision::getCost)
                .reduce(java.math.BigDecimal.ZERO, java.math.BigDecimal::add)).isEqualByComparingTo("3.00");
        assertThat(written.stream().filter(d -> d.getDecision().equals("downgrade")).map(EnforcementDecision::getSavings))
                .singleElement().satisfies(s -> assertThat(s).isEqualByComparingTo("0.09"));
        List<EnforcementDecision> allows = written.stream().filter(d -> d.getDecision().equals("allow")).toList();
        assertThat(allows).allSatisfy(a -> assertThat(a.getRepresents()).isEqualTo(100));
        assertThat(allows.size()).isBetween(50, 150); // about 1 in 100 of 10,000
    }
}

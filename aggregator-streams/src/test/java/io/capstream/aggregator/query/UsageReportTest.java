package io.capstream.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.customer.Customer;
import io.capstream.policy.ModelAllowance;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.topics.UsageKey;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class UsageReportTest {
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");

    @Test
    void aKindOfLimitTheReportHasNeverSeenIsReportedLikeTheOthers() {
        // given a plan with a test-only kind of limit, and its running total in the store
        PolicyDocument policy = ModelAllowance.policy();
        Customer acme = Customer.unconfigured("acme", "pro");
        Instant day = ResetSchedule.parse("daily").periodAt(NOW, acme.timezone()).start();
        LimitUsage total = LimitUsage.newBuilder().setCustomer("acme").setLimitId("model:gpt-4o").setKind("model_allowance").setFeature(null)
                .setPeriodStart(day).setPeriodEnd(day.plusSeconds(86_400)).setTimezone("UTC").setMeasure("input_tokens").setQuantities(List.of())
                .setCost(BigDecimal.ZERO.setScale(18)).setUsed(new BigDecimal("600").setScale(18)).setLimit(new BigDecimal("1000").setScale(18))
                .setIncluded(BigDecimal.ZERO.setScale(18)).setGrantCovered(BigDecimal.ZERO.setScale(18)).setBilled(BigDecimal.ZERO.setScale(18))
                .setEvents(1).setUpdatedAt(NOW).setThresholdsCrossed(List.of("0.5")).build();

        // when the report is built
        UsageReport report = UsageReport.build(acme, policy, Map.of(UsageKey.of("acme", "model:gpt-4o", day), total), NOW, false);

        // then it is listed with its use, state and reset
        assertThat(report.limits()).singleElement().satisfies(l -> {
            assertThat(l.id()).isEqualTo("model:gpt-4o");
            assertThat(l.kind()).isEqualTo("model_allowance");
            assertThat(l.used()).isEqualTo("600");
            assertThat(l.remaining()).isEqualTo("400");
            assertThat(l.state()).isEqualTo("warning");
            assertThat(l.thresholdsCrossed()).containsExactly("0.5");
            assertThat(l.resetsAt().toInstant()).isEqualTo(day.plusSeconds(86_400));
        });
    }
}

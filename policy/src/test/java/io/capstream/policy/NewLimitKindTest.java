package io.capstream.policy;

import io.capstream.policy.booking.Booking;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.decision.Enforcement;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.limit.ResetSchedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.HashMap;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/**
 * A kind of limit that exists only in this test — a per-model token allowance — is booked, warned
 * about and enforced by the same loops as entitlements and caps, with no edit to them: adding a
 * kind of limit is one new {@link Limit} implementation ({@link ModelAllowance}).
 */
class NewLimitKindTest {
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");
    static final PolicyDocument POLICY = ModelAllowance.policy();
    static final Customer ACME = Customer.unconfigured("acme", "pro");

    final Map<String, Booking.Total> store = new HashMap<>();

    Booking.Result book(String model, long tokens) {
        Map<String, BigDecimal> usage = Map.of("input_tokens", BigDecimal.valueOf(tokens));
        Booking.PricedUsage e = new Booking.PricedUsage("chat", model, null, null, NOW, usage, Pricing.cost(POLICY, model, usage));
        Booking.Result r = Booking.book(e, ACME, POLICY, (id, start) -> Optional.ofNullable(store.get(id + "|" + start)));
        r.changed().forEach(t -> store.put(t.limitId() + "|" + t.period().start(), t));
        return r;
    }

    @Test
    void bookingCountsItOnlyForItsModelAndCrossesItsThresholds() {
        book("mini", 5000);
        Booking.Result first = book("gpt-4o", 600);
        Booking.Result second = book("gpt-4o", 500);

        Booking.Total total = store.get("model:gpt-4o|" + ResetSchedule.parse("daily").periodAt(NOW, ACME.timezone()).start());
        assertThat(total.used()).isEqualByComparingTo("1100");
        assertThat(total.kind()).isEqualTo("model_allowance");
        assertThat(first.crossings()).singleElement().satisfies(c -> assertThat(c.threshold()).isEqualByComparingTo("0.5"));
        assertThat(second.crossings()).singleElement().satisfies(c -> assertThat(c.threshold()).isEqualByComparingTo("1"));
    }

    @Test
    void theDecisionRefusesPastItNamingItAndWarnsBefore() {
        CheckRequest onGpt4o = new CheckRequest("acme", null, null, "chat", "gpt-4o", Map.of("input_tokens", new BigDecimal("100")), Optional.empty());

        Decision refused = Enforcement.decide(onGpt4o, ACME, POLICY, (id, start) -> id.equals("model:gpt-4o") ? new BigDecimal("950") : BigDecimal.ZERO,
                Optional.empty(), NOW);
        Decision allowedOnMini = Enforcement.decide(new CheckRequest("acme", null, null, "chat", "mini", Map.of("input_tokens", new BigDecimal("100")),
                Optional.empty()), ACME, POLICY, (id, start) -> new BigDecimal("950"), Optional.empty(), NOW);

        assertThat(refused.code()).isEqualTo(Decision.Code.PLAN_ALLOWANCE_EXHAUSTED);
        assertThat(refused.limit()).hasValueSatisfying(l -> assertThat(l.id()).isEqualTo("model:gpt-4o"));
        assertThat(allowedOnMini.allowsRequest()).isTrue();
    }

    @Test
    void theCustomersLimitsListItWithThePlansOthers() {
        assertThat(ACME.limits(POLICY.plan("pro"))).extracting(Limit::limitId).containsExactly("model:gpt-4o");
    }
}

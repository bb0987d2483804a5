package io.capstream.enforcement;

import io.capstream.policy.decision.Account;
import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.ModelAllowance;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.schemas.topics.UsageKey;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class LocalPendingTest {
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");
    static final PolicyDocument POLICY = PolicyLoader.fromYaml("""
            models: {gpt-4o: {prices: {input_tokens: "2.50/1M"}}}
            plans:
              pro:
                entitlements: {chat: {measure: input_tokens, included: 1000, period: daily}}
                default_caps: [{id: budget, amount: "10", period: billing}]
            """);

    static CheckRequest check(String model, long tokens) {
        return new CheckRequest("acme", null, null, "chat", model, Map.of("input_tokens", BigDecimal.valueOf(tokens)), Optional.empty());
    }

    @Test
    void anAllowedEstimateCountsOnEveryMatchingLimitUntilItsUsageCanHaveArrived() {
        LocalPending pending = new LocalPending(Duration.ofSeconds(10));
        Customer acme = Customer.unconfigured("acme", "pro");
        Instant day = ResetSchedule.parse("daily").periodAt(NOW, acme.timezone()).start();
        Instant month = Instant.parse("2026-11-01T00:00:00Z");

        pending.add(check("gpt-4o", 400), Account.of(acme, POLICY), "gpt-4o", NOW, UsageKey::of, new io.capstream.policy.limit.CurrentPeriods(), false);
        pending.add(check("gpt-4o", 400), Account.of(acme, POLICY), "gpt-4o", NOW.plusSeconds(3), UsageKey::of, new io.capstream.policy.limit.CurrentPeriods(), false);

        assertThat(pending.sum(UsageKey.of("acme", "entitlement:chat", day), NOW.plusSeconds(3))).isEqualByComparingTo("800");
        assertThat(pending.sum(UsageKey.of("acme", "cap:budget", month), NOW.plusSeconds(3))).isEqualByComparingTo("0.002");
        // the first estimate leaves the window after 10 s, the second 3 s later
        assertThat(pending.sum(UsageKey.of("acme", "entitlement:chat", day), NOW.plusSeconds(11))).isEqualByComparingTo("400");
        assertThat(pending.sum(UsageKey.of("acme", "entitlement:chat", day), NOW.plusSeconds(14))).isEqualByComparingTo("0");
    }

    @Test
    void aRequestHoldingAReservationIsNotCountedAgainstItsStrictCapsHereOnlyADegradedAllowIs() {
        PolicyDocument strict = PolicyLoader.fromYaml("""
                models: {gpt-4o: {prices: {input_tokens: "2.50/1M"}}}
                plans:
                  pro:
                    entitlements: {chat: {measure: input_tokens, included: 1000, period: daily}}
                    default_caps: [{id: hard, amount: "10", period: billing, strict: true}]
                """);
        LocalPending pending = new LocalPending(Duration.ofSeconds(10));
        Customer acme = Customer.unconfigured("acme", "pro");
        Instant day = ResetSchedule.parse("daily").periodAt(NOW, acme.timezone()).start();
        Instant month = Instant.parse("2026-11-01T00:00:00Z");

        // held at the owner: the owner counts the hold until the usage settles it
        pending.add(check("gpt-4o", 400), Account.of(acme, strict), "gpt-4o", NOW, UsageKey::of, new io.capstream.policy.limit.CurrentPeriods(), true);
        assertThat(pending.sum(UsageKey.of("acme", "cap:hard", month), NOW)).isZero();
        assertThat(pending.sum(UsageKey.of("acme", "entitlement:chat", day), NOW)).isEqualByComparingTo("400");
        // allowed without a reservation (the owner did not answer, the cap fails open): nothing holds it but this
        pending.add(check("gpt-4o", 400), Account.of(acme, strict), "gpt-4o", NOW, UsageKey::of, new io.capstream.policy.limit.CurrentPeriods(), false);
        assertThat(pending.sum(UsageKey.of("acme", "cap:hard", month), NOW)).isEqualByComparingTo("0.001");
    }

    @Test
    void aKindOfLimitItHasNeverSeenIsCountedLikeTheOthers() {
        LocalPending pending = new LocalPending(Duration.ofSeconds(10));
        Customer acme = Customer.unconfigured("acme", "pro");
        Instant day = ResetSchedule.parse("daily").periodAt(NOW, acme.timezone()).start();

        pending.add(check("gpt-4o", 300), Account.of(acme, ModelAllowance.policy()), "gpt-4o", NOW, UsageKey::of, new io.capstream.policy.limit.CurrentPeriods(), false);
        pending.add(check("mini", 300), Account.of(acme, ModelAllowance.policy()), "mini", NOW, UsageKey::of, new io.capstream.policy.limit.CurrentPeriods(), false);

        assertThat(pending.sum(UsageKey.of("acme", "model:gpt-4o", day), NOW)).isEqualByComparingTo("300");
    }

    @Test
    void theWindowOfALimitWithNoEstimateForLongerThanTheDelayIsDroppedAndOneInUseIsKept() {
        java.util.concurrent.atomic.AtomicLong nanos = new java.util.concurrent.atomic.AtomicLong();
        LocalPending pending = new LocalPending(Duration.ofSeconds(10), nanos::get);
        Account acme = Account.of(Customer.unconfigured("acme", "pro"), POLICY);
        // 1,000 other customers checked once each (any name a caller sends), acme every few seconds
        for (int i = 0; i < 1000; i++) {
            pending.add(new CheckRequest("cus_" + i, null, null, "chat", "gpt-4o", Map.of("input_tokens", BigDecimal.TEN), Optional.empty()),
                    Account.of(Customer.unconfigured("cus_" + i, "pro"), POLICY), "gpt-4o", NOW, UsageKey::of, new io.capstream.policy.limit.CurrentPeriods(), false);
        }
        assertThat(pending.size()).isEqualTo(2 * 1000); // the entitlement and the cap of each
        for (int s = 0; s <= 12; s += 4) {
            nanos.set(Duration.ofSeconds(s).toNanos());
            pending.add(check("gpt-4o", 100), acme, "gpt-4o", NOW.plusSeconds(s), UsageKey::of, new io.capstream.policy.limit.CurrentPeriods(), false);
        }
        nanos.set(Duration.ofSeconds(13).toNanos());

        assertThat(pending.size()).isEqualTo(2); // acme's two limits; the others summed to zero since second 10
        Instant day = ResetSchedule.parse("daily").periodAt(NOW, acme.customer().timezone()).start();
        assertThat(pending.sum(UsageKey.of("acme", "entitlement:chat", day), NOW.plusSeconds(13))).isEqualByComparingTo("300"); // the estimates of seconds 4, 8 and 12
    }
}

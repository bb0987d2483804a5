package io.capstream.policy;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.decision.Enforcement;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class EnforcementTest {
    static final PolicyDocument POLICY = PolicyLoader.fromYaml("""
            models:
              claude-opus: {tier: frontier, downgrade_to: claude-sonnet, prices: {input_tokens: "15/1M"}}
              claude-sonnet: {tier: premium, downgrade_to: claude-haiku, prices: {input_tokens: "3/1M"}}
              claude-haiku: {tier: standard, prices: {input_tokens: "1/1M"}}
            meters:
              requests: {price: "0"}
            plans:
              pro:
                price: "20"
                model_tiers: [standard, premium]
                entitlements:
                  drafts: {measure: requests, included: 100, period: daily, over: throttle}
            links:
              raise_cap: "https://app.example.com/limits?customer={customer}&limit={limit}"
              upgrade: "https://app.example.com/upgrade?customer={customer}"
            """);
    /** Token prices with 12 digits per unit and more: "2.50/1M" is 0.0000025 a token. */
    static final PolicyDocument POLICY_WITH_OUTPUT = PolicyLoader.fromYaml("""
            models:
              gpt-4o: {prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
            plans:
              pro:
                price: "20"
                entitlements:
                  chat: {measure: USD, included: "10", period: billing, over: bill_overage}
            default_plan: pro
            """);
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");
    static final ZoneId LA = ZoneId.of("America/Los_Angeles");
    static final Instant NOV_1_LA = Instant.parse("2026-11-01T07:00:00Z");

    final Map<String, BigDecimal> used = new HashMap<>();

    static Cap cap(String amount, LimitAction action) {
        return new Cap("budget", "Team budget", new BigDecimal(amount), Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"),
                Optional.empty(), false, false, Cap.DEFAULT_THRESHOLDS, action, false, Optional.empty());
    }

    static Customer customer(List<Cap> caps, boolean noHardCaps, Customer.Status status) {
        return new Customer("acme", "pro", LA, 1, Customer.Contacts.NONE, noHardCaps, status, caps, List.of());
    }

    static CheckRequest chat(String model, long tokens) {
        return new CheckRequest("acme", "usr_1", "key_1", "chat", model, Map.of("input_tokens", BigDecimal.valueOf(tokens)), Optional.empty());
    }

    Decision decide(CheckRequest request, Customer customer) {
        return Enforcement.decide(request, customer, POLICY, (limit, start) -> used.getOrDefault(limit + "@" + start, BigDecimal.ZERO),
                Optional.empty(), NOW);
    }

    @Test
    void aDisabledCustomerIsRefused() {
        Decision d = decide(chat("claude-haiku", 1), customer(List.of(), false, Customer.Status.DISABLED));
        assertThat(d.code()).isEqualTo(Decision.Code.CUSTOMER_DISABLED);
    }

    @Test
    void aModelAboveThePlansTiersIsDowngradedAlongTheChainOrRefused() {
        Decision d = decide(chat("claude-opus", 1000), customer(List.of(), false, Customer.Status.ACTIVE));
        assertThat(d.outcome()).isEqualTo(Decision.Outcome.DOWNGRADE);
        assertThat(d.model()).contains("claude-sonnet");

        PolicyDocument noChain = PolicyLoader.fromYaml("""
                models:
                  claude-opus: {tier: frontier, prices: {input_tokens: "15/1M"}}
                plans:
                  pro: {model_tiers: [standard]}
                links: {upgrade: "https://app.example.com/upgrade?customer={customer}"}
                """);
        Decision refused = Enforcement.decide(chat("claude-opus", 1), customer(List.of(), false, Customer.Status.ACTIVE), noChain,
                (l, s) -> BigDecimal.ZERO, Optional.empty(), NOW);
        assertThat(refused.code()).isEqualTo(Decision.Code.MODEL_NOT_ALLOWED);
        assertThat(refused.message()).contains("https://app.example.com/upgrade?customer=acme");
    }

    @Test
    void aNoisyKeyIsRateLimitedWithRetryAfter() {
        Decision d = Enforcement.decide(chat("claude-haiku", 1), customer(List.of(), false, Customer.Status.ACTIVE), POLICY,
                (l, s) -> BigDecimal.ZERO, Optional.of(Duration.ofSeconds(3)), NOW);
        assertThat(d.code()).isEqualTo(Decision.Code.KEY_RATE_LIMITED);
        assertThat(d.retryAfter()).contains(Duration.ofSeconds(3));
    }

    @Test
    void aBlockingCapRefusesWith402NamingTheCapUsedLimitResetAndTheWayOut() {
        used.put("cap:budget@" + NOV_1_LA, new BigDecimal("9.999"));
        // 1,000 tokens of claude-sonnet cost $0.003: 9.999 + 0.003 > 10
        Decision d = decide(chat("claude-sonnet", 1000), customer(List.of(cap("10", LimitAction.BLOCK)), false, Customer.Status.ACTIVE));

        assertThat(d.code()).isEqualTo(Decision.Code.SPEND_CAP_REACHED);
        assertThat(d.throttles()).isFalse();
        Decision.LimitInfo limit = d.limit().orElseThrow();
        assertThat(limit.id()).isEqualTo("cap:budget");
        assertThat(limit.used()).isEqualTo("9.999");
        assertThat(limit.limit()).isEqualTo("10.00");
        assertThat(limit.resetsAt().toString()).isEqualTo("2026-12-01T00:00-08:00");
        assertThat(limit.raiseCapUrl()).contains("https://app.example.com/limits?customer=acme&limit=cap%3Abudget");
        // the cap is not used up: this request would take it past its amount, and the sentence says so, exactly
        assertThat(d.message()).isEqualTo("Your Team budget of $10.00 does not cover this request: $9.999 used, $0.001 left, and this request"
                + " is estimated at $0.003. It resets on December 1, 2026 at 00:00 (America/Los_Angeles, UTC-08:00). Raise the cap:"
                + " https://app.example.com/limits?customer=acme&limit=cap%3Abudget");
    }

    @Test
    void aLimitUsedUpIsSaidToBeUsedUpAndOneThisRequestWouldOverrunSaysWhatIsUsedLeftAndEstimatedInItsUnit() {
        used.put("cap:budget@" + NOV_1_LA, new BigDecimal("10.004"));
        Decision usedUp = decide(chat("claude-sonnet", 1000), customer(List.of(cap("10", LimitAction.BLOCK)), false, Customer.Status.ACTIVE));
        assertThat(usedUp.message()).startsWith("Your Team budget of $10.00 is used up ($10.00 used). It resets on December 1, 2026 at 00:00 ");

        used.put("cap:budget@" + NOV_1_LA, new BigDecimal("2"));
        Decision big = decide(chat("claude-sonnet", 100_000_000), customer(List.of(cap("10", LimitAction.BLOCK)), false, Customer.Status.ACTIVE));
        assertThat(big.code()).isEqualTo(Decision.Code.SPEND_CAP_REACHED);
        assertThat(big.message()).startsWith("Your Team budget of $10.00 does not cover this request: $2.00 used, $8.00 left, and this request is"
                + " estimated at $300.00. It resets on");

        used.put("entitlement:drafts@" + Instant.parse("2026-11-21T08:00:00Z"), new BigDecimal("97"));
        Decision drafts = decide(new CheckRequest("acme", null, null, "drafts", null, Map.of("requests", new BigDecimal("5")), Optional.empty()),
                customer(List.of(), false, Customer.Status.ACTIVE));
        assertThat(drafts.message()).startsWith("The pro plan's drafts allowance of 100 requests does not cover this request: 97 requests used,"
                + " 3 requests left, and this request is estimated at 5 requests. It resets on November 22, 2026 at 00:00 (America/Los_Angeles");
    }

    @Test
    void aRefusalSaysWhatOfTheUseIsRequestsAllowedMomentsAgoWhoseUsageHasNotArrived() {
        // $0.30 booked, and $0.90 of requests this instance allowed in the last seconds (the usage page shows $0.30)
        Enforcement.Usage withPending = new Enforcement.Usage() {
            @Override
            public BigDecimal used(String customer, String limitId, Instant periodStart, Instant now) {
                return limitId.equals("cap:budget") ? new BigDecimal("1.20") : BigDecimal.ZERO;
            }

            @Override
            public BigDecimal pending(String customer, String limitId, Instant periodStart, Instant now) {
                return limitId.equals("cap:budget") ? new BigDecimal("0.90") : BigDecimal.ZERO;
            }
        };
        Customer acme = customer(List.of(cap("1", LimitAction.BLOCK)), false, Customer.Status.ACTIVE);
        Decision usedUp = Enforcement.decide(chat("claude-sonnet", 1000), io.capstream.policy.decision.Account.of(acme, POLICY), withPending,
                Optional.empty(), NOW, new io.capstream.policy.limit.CurrentPeriods());
        assertThat(usedUp.message()).startsWith("Your Team budget of $1.00 is used up ($1.20 used, $0.90 of it requests allowed in the last seconds,"
                + " counted until their usage arrives). It resets on");
        assertThat(usedUp.limit().orElseThrow().used()).isEqualTo("1.20"); // the amount the decision went by

        Customer roomier = customer(List.of(cap("1.25", LimitAction.BLOCK)), false, Customer.Status.ACTIVE);
        Decision over = Enforcement.decide(chat("claude-sonnet", 100_000), io.capstream.policy.decision.Account.of(roomier, POLICY), withPending,
                Optional.empty(), NOW, new io.capstream.policy.limit.CurrentPeriods());
        assertThat(over.message()).startsWith("Your Team budget of $1.25 does not cover this request: $1.20 used ($0.90 of it requests allowed in"
                + " the last seconds, counted until their usage arrives), $0.05 left, and this request is estimated at $0.30.");
    }

    @Test
    void aDowngradeCapMovesToTheCheaperModelAndBlocksWhenTheChainEnds() {
        used.put("cap:budget@" + NOV_1_LA, new BigDecimal("9.996"));
        Customer acme = customer(List.of(cap("10", LimitAction.DOWNGRADE)), false, Customer.Status.ACTIVE);
        // sonnet would cost $0.006 (over), haiku $0.002 (fits)
        Decision d = decide(chat("claude-sonnet", 2000), acme);
        assertThat(d.outcome()).isEqualTo(Decision.Outcome.DOWNGRADE);
        assertThat(d.model()).contains("claude-haiku");

        used.put("cap:budget@" + NOV_1_LA, new BigDecimal("10"));
        assertThat(decide(chat("claude-sonnet", 2000), acme).code()).isEqualTo(Decision.Code.SPEND_CAP_REACHED);
    }

    @Test
    void throttleSlowsRequestsDownAndNotifyAllows() {
        used.put("entitlement:drafts@" + Instant.parse("2026-11-21T08:00:00Z"), new BigDecimal("100"));
        Decision throttled = decide(new CheckRequest("acme", null, null, "drafts", null, Map.of("requests", BigDecimal.ONE), Optional.empty()),
                customer(List.of(), false, Customer.Status.ACTIVE));
        assertThat(throttled.throttles()).isTrue();
        assertThat(throttled.retryAfter()).isPresent();

        used.put("cap:budget@" + NOV_1_LA, new BigDecimal("50"));
        Decision notified = decide(chat("claude-haiku", 1), customer(List.of(cap("10", LimitAction.NOTIFY)), false, Customer.Status.ACTIVE));
        assertThat(notified.allowsRequest()).isTrue();
        assertThat(notified.warnings()).extracting(Decision.LimitInfo::id).contains("cap:budget");
    }

    @Test
    void anEnterpriseOverrideNeverBlocksButStillWarns() {
        used.put("cap:budget@" + NOV_1_LA, new BigDecimal("100"));
        Decision d = decide(chat("claude-sonnet", 1000), customer(List.of(cap("10", LimitAction.BLOCK)), true, Customer.Status.ACTIVE));
        assertThat(d.outcome()).isEqualTo(Decision.Outcome.WARN);
        assertThat(d.warnings()).isNotEmpty();
    }

    @Test
    void at85PercentTheRequestIsAllowedWithAWarning() {
        used.put("cap:budget@" + NOV_1_LA, new BigDecimal("8.5"));
        Decision d = decide(chat("claude-haiku", 1), customer(List.of(cap("10", LimitAction.BLOCK)), false, Customer.Status.ACTIVE));
        assertThat(d.outcome()).isEqualTo(Decision.Outcome.WARN);
        assertThat(d.warnings()).singleElement().satisfies(w -> assertThat(w.percent()).isEqualTo("85.0"));
    }

    @Test
    void aRequestWithoutAModelIsDecidedOnItsEstimatedCost() {
        CheckRequest noModel = new CheckRequest("acme", null, null, "chat", null, Map.of(), Optional.of(new BigDecimal("0.50")));
        assertThat(decide(noModel, customer(List.of(cap("10", LimitAction.BLOCK)), false, Customer.Status.ACTIVE)).outcome())
                .isEqualTo(Decision.Outcome.ALLOW);
    }

    @Test
    void aCapThatOnlyNotifiesDoesNotHideABlockingCapAfterIt() {
        // given two used-up caps: one that only notifies, then one that blocks
        Cap notify = new Cap("watch", "Watch", BigDecimal.TEN, Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"), Optional.empty(),
                false, false, Cap.DEFAULT_THRESHOLDS, LimitAction.NOTIFY, false, Optional.empty());
        Cap block = new Cap("hard", "Hard stop", BigDecimal.TEN, Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"), Optional.empty(),
                false, false, Cap.DEFAULT_THRESHOLDS, LimitAction.BLOCK, false, Optional.empty());
        Customer acme = customer(List.of(notify, block), false, Customer.Status.ACTIVE);
        used.put("cap:watch@" + NOV_1_LA, BigDecimal.TEN);
        used.put("cap:hard@" + NOV_1_LA, BigDecimal.TEN);

        // when a request comes, then the blocking cap refuses it
        Decision d = decide(chat("claude-haiku", 1), acme);
        assertThat(d.code()).isEqualTo(Decision.Code.SPEND_CAP_REACHED);
        assertThat(d.limit()).hasValueSatisfying(l -> assertThat(l.id()).isEqualTo("cap:hard"));
    }
}

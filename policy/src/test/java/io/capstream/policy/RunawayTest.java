package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.catalogue.PolicyValidationException;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.runaway.Breaker;
import io.capstream.policy.runaway.MinuteWindow;
import io.capstream.policy.runaway.RunawayRule;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

/** The runaway circuit breaker's rules: the baseline, the trip rate, sustained minutes, the refusal, and the policy syntax. */
class RunawayTest {
    static final RunawayRule RULE = new RunawayRule(BigDecimal.TEN, new BigDecimal("0.10"), Optional.empty(), Duration.ofMinutes(2),
            LimitAction.BLOCK, Duration.ofMinutes(15));

    static List<BigDecimal> hours(String... usd) {
        return java.util.Arrays.stream(usd).map(BigDecimal::new).toList();
    }

    @Test
    void theBaselineIsTheP95OfTheSameHourOverSevenDaysPerMinuteAndNeverBelowTheFloor() {
        // of seven days the nearest-rank p95 is the highest: $30 in that hour is $0.50 a minute
        assertThat(RULE.baseline(hours("6", "12", "30", "0", "18", "6", "6"))).isEqualByComparingTo("0.50");
        // a new customer (no days yet) gets the floor
        assertThat(RULE.baseline(List.of())).isEqualByComparingTo("0.10");
        assertThat(RULE.baseline(hours("1.20"))).isEqualByComparingTo("0.10");
        assertThat(RULE.tripRate(new BigDecimal("0.50"))).isEqualByComparingTo("5.0");
        RunawayRule capped = new RunawayRule(BigDecimal.TEN, new BigDecimal("0.10"), Optional.of(new BigDecimal("2")), Duration.ofMinutes(2),
                LimitAction.BLOCK, Duration.ofMinutes(15));
        assertThat(capped.tripRate(new BigDecimal("0.50"))).isEqualByComparingTo("2");
        assertThat(capped.tripRate(new BigDecimal("0.10"))).isEqualByComparingTo("1.0");
    }

    @Test
    void itTripsOnlyWhenEverySustainedMinuteIsAboveTheTripRate() {
        MinuteWindow w = new MinuteWindow(4);
        BigDecimal trip = new BigDecimal("5");
        w.add(100, new BigDecimal("6"));
        assertThat(w.above(100, 2, trip)).isFalse(); // one minute is not two
        w.add(101, new BigDecimal("4"));
        assertThat(w.above(101, 2, trip)).isFalse();
        w.add(101, new BigDecimal("1.5")); // the current minute passes the rate
        assertThat(w.above(101, 2, trip)).isTrue();
        assertThat(w.mean(101, 2)).isEqualByComparingTo("5.75");
        // a minute older than the ring no longer counts, and does not overwrite a newer one
        w.add(97, new BigDecimal("100"));
        assertThat(w.at(97)).isEqualByComparingTo("0");
        assertThat(w.at(101)).isEqualByComparingTo("5.5");
        w.clear();
        assertThat(w.above(101, 2, trip)).isFalse();
    }

    @Property(tries = 300)
    void aSteadyRateAtOrBelowTheTripRateNeverTrips(@ForAll @IntRange(min = 0, max = 10_000) int cents, @ForAll @IntRange(min = 1, max = 200) int events,
                                                   @ForAll @IntRange(min = 1, max = 10) int sustain) {
        BigDecimal baseline = RULE.baseline(List.of(BigDecimal.valueOf(cents, 2)));
        BigDecimal trip = RULE.tripRate(baseline);
        MinuteWindow w = new MinuteWindow(sustain + 1);
        BigDecimal perEvent = trip.divide(BigDecimal.valueOf(events), 12, java.math.RoundingMode.DOWN);
        for (long minute = 0; minute < 3L * sustain; minute++) {
            for (int e = 0; e < events; e++) {
                w.add(minute, perEvent);
                assertThat(w.above(minute, sustain, trip)).isFalse();
            }
        }
        w.add(3L * sustain, trip.add(BigDecimal.ONE)); // one busy minute after a steady spell is not sustained (unless sustain is 1)
        assertThat(w.above(3L * sustain, sustain, trip)).isEqualTo(sustain == 1);
    }

    @Test
    void anOpenBreakerRefusesWithTheRateTheBaselineAndHowToResetIt() {
        ZoneId ny = ZoneId.of("America/New_York");
        Instant opened = Instant.parse("2026-11-23T15:00:00Z");
        Breaker b = new Breaker("acme", Optional.of("key_1"), LimitAction.BLOCK, new BigDecimal("12.40"), new BigDecimal("0.80"),
                new BigDecimal("8.00"), opened, opened.plus(Duration.ofMinutes(15)), ny);
        assertThat(b.covers("key_1")).isTrue();
        assertThat(b.covers("key_2")).isFalse();
        assertThat(b.openAt(opened.plus(Duration.ofMinutes(14)))).isTrue();
        assertThat(b.openAt(opened.plus(Duration.ofMinutes(15)))).isFalse();
        Decision d = b.refusal(opened.plus(Duration.ofMinutes(5)), Optional.empty());
        assertThat(d.code()).isEqualTo(Decision.Code.CIRCUIT_OPEN);
        assertThat(d.retryAfter()).contains(Duration.ofMinutes(10));
        assertThat(d.message()).contains("API key key_1 of acme ran at $12.40 a minute, 15.5 times its usual $0.80")
                .contains("November 23, 2026 at 10:15 (America/New_York, UTC-05:00)").contains("POST /v1/customers/acme/runaway/reset");
        assertThat(d.limit()).hasValueSatisfying(l -> {
            assertThat(l.id()).isEqualTo("runaway:key:key_1");
            assertThat(l.used()).isEqualTo("12.40");
            assertThat(l.limit()).isEqualTo("8.00");
            assertThat(l.resetsAt().toString()).isEqualTo("2026-11-23T10:15-05:00");
        });
    }

    @Test
    void aPlanDeclaresItsBreakerAndEveryBadValueIsNamed() {
        String base = """
                meters:
                  requests: {price: "0.01"}
                plans:
                  pro:
                    price: "20"
                    runaway: %s
                """;
        PolicyDocument doc = PolicyLoader.fromYaml(base.formatted("{factor: 5, floor: \"0.25\", absolute: \"40\", sustain_minutes: 3, action: throttle, cool_down_minutes: 30}"));
        assertThat(doc.plans().get("pro").runaway()).contains(new RunawayRule(new BigDecimal("5"), new BigDecimal("0.25"),
                Optional.of(new BigDecimal("40")), Duration.ofMinutes(3), LimitAction.THROTTLE, Duration.ofMinutes(30)));
        assertThat(PolicyLoader.fromYaml(base.formatted("{}")).plans().get("pro").runaway()).contains(new RunawayRule(BigDecimal.TEN,
                new BigDecimal("0.10"), Optional.empty(), Duration.ofMinutes(2), LimitAction.BLOCK, Duration.ofMinutes(15)));
        assertThatThrownBy(() -> PolicyLoader.fromYaml(base.formatted("{factor: 1, floor: \"0\", sustain_minutes: 0, action: downgrade, speed: 3}")))
                .isInstanceOfSatisfying(PolicyValidationException.class, e -> assertThat(e.errors()).contains(
                        "plans.pro.runaway.factor: more than 1 and at most 1000 (times the baseline)",
                        "plans.pro.runaway.floor: a positive amount of USD per minute",
                        "plans.pro.runaway.sustain_minutes: a whole number of minutes from 1 to 60",
                        "plans.pro.runaway.action: one of [block, throttle, notify]"))
                .satisfies(e -> assertThat(((PolicyValidationException) e).errors()).anyMatch(s -> s.startsWith("plans.pro.runaway.speed: unknown field")));
    }

    @Test
    void aCustomersOwnSettingsGoOnTopOfItsPlansAndATrustedCustomerIsOnlyNotified() {
        PolicyDocument doc = PolicyLoader.fromYaml("""
                meters:
                  requests: {price: "0.01"}
                plans:
                  pro: {price: "20", runaway: {factor: 5, floor: "0.25", action: block}}
                  free: {price: "0"}
                """);
        io.capstream.policy.input.Specs specs = new io.capstream.policy.input.Specs();
        io.capstream.policy.customer.Customer raised = specs.require(specs.customer("customer", json("""
                {"plan": "pro", "overrides": {"runaway": {"factor": 20, "absolute": "30.00", "cool_down_minutes": 5}}}"""), "acme",
                Optional.empty(), doc.plans().keySet()));
        assertThat(raised.runawayRule(doc.plan("pro"))).contains(new RunawayRule(new BigDecimal("20"), new BigDecimal("0.25"),
                Optional.of(new BigDecimal("30.00")), Duration.ofMinutes(2), LimitAction.BLOCK, Duration.ofMinutes(5)));
        io.capstream.policy.customer.Customer off = specs.require(specs.customer("customer", json("""
                {"plan": "pro", "overrides": {"runaway": {"enabled": false}}}"""), "acme", Optional.empty(), doc.plans().keySet()));
        assertThat(off.runawayRule(doc.plan("pro"))).isEmpty();
        // a plan without a breaker: the customer's own settings on top of the defaults
        io.capstream.policy.customer.Customer own = specs.require(specs.customer("customer", json("""
                {"plan": "free", "overrides": {"runaway": {"action": "notify"}}}"""), "acme", Optional.empty(), doc.plans().keySet()));
        assertThat(own.runawayRule(doc.plan("free"))).contains(new RunawayRule(BigDecimal.TEN, new BigDecimal("0.10"), Optional.empty(),
                Duration.ofMinutes(2), LimitAction.NOTIFY, Duration.ofMinutes(15)));
        io.capstream.policy.customer.Customer trusted = specs.require(specs.customer("customer", json("""
                {"plan": "pro", "overrides": {"no_hard_caps": true}}"""), "acme", Optional.empty(), doc.plans().keySet()));
        assertThat(trusted.runawayRule(doc.plan("pro"))).hasValueSatisfying(r -> assertThat(r.action()).isEqualTo(LimitAction.NOTIFY));

        io.capstream.policy.input.Specs bad = new io.capstream.policy.input.Specs();
        bad.customer("customer", json("""
                {"plan": "pro", "overrides": {"runaway": {"enabled": "no", "factor": 0.5, "action": "downgrade", "rate": 1}}}"""), "acme",
                Optional.empty(), doc.plans().keySet());
        assertThat(bad.problems()).extracting(Object::toString).contains("customer.overrides.runaway.enabled: true or false",
                "customer.overrides.runaway.factor: more than 1 and at most 1000 (times the baseline)",
                "customer.overrides.runaway.action: one of [block, throttle, notify]")
                .anyMatch(p -> p.startsWith("customer.overrides.runaway.rate: unknown field"));
    }

    static com.fasterxml.jackson.databind.JsonNode json(String text) {
        try {
            return new com.fasterxml.jackson.databind.ObjectMapper().readTree(text);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }
}

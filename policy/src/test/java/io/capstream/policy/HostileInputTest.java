package io.capstream.policy;

import io.capstream.policy.catalogue.Model;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.catalogue.PolicyValidationException;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.catalogue.UnitPrice;
import io.capstream.policy.catalogue.UnpriceableUsageException;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.decision.Enforcement;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.input.Problem;
import io.capstream.policy.input.Specs;
import io.capstream.policy.input.Times;
import io.capstream.policy.input.WebhookDestinations;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Careless and hostile input to the domain's readers: each is refused with its field, before any work. */
class HostileInputTest {
    static final ObjectMapper JSON = new ObjectMapper();
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");

    static JsonNode json(String s) {
        try {
            return JSON.readTree(s);
        } catch (Exception e) {
            throw new IllegalArgumentException(e);
        }
    }

    static List<String> capErrors(String body) {
        Specs specs = new Specs(new ArrayList<>());
        specs.cap("cap", json(body), "c1");
        return specs.problems().stream().map(Problem::toString).toList();
    }

    static List<String> customerErrors(String body) {
        Specs specs = new Specs(new ArrayList<>());
        specs.customer("customer", json(body), "acme", Optional.empty(), Set.of());
        return specs.problems().stream().map(Problem::toString).toList();
    }

    static List<String> grantErrors(String body) {
        Specs specs = new Specs(new ArrayList<>());
        specs.grant("grant", json(body), "g1", NOW);
        return specs.problems().stream().map(Problem::toString).toList();
    }

    @Test
    void aDowngradeCycleOrSelfLoopIsRefusedNamingThePath() {
        assertThatThrownBy(() -> PolicyLoader.fromYaml("""
                models:
                  gpt-4o-mini: {downgrade_to: gpt-4o, prices: {input_tokens: "1/1M"}}
                  gpt-4o: {downgrade_to: gpt-4o-mini, prices: {input_tokens: "1/1M"}}
                  solo: {downgrade_to: solo, prices: {input_tokens: "1/1M"}}
                """)).isInstanceOfSatisfying(PolicyValidationException.class, e -> assertThat(e.errors()).containsExactly(
                "models.gpt-4o-mini.downgrade_to: a cycle, gpt-4o-mini → gpt-4o → gpt-4o-mini; a downgrade chain must end at a model without downgrade_to",
                "models.solo.downgrade_to: a cycle, solo → solo; a downgrade chain must end at a model without downgrade_to"));
    }

    @Test
    void aDecisionOverACycleInAnUnvalidatedCatalogueEndsAtOnce() {
        // given a catalogue built without the loader: a → b → a, both over a downgrade cap
        UnitPrice price = UnitPrice.parse("1/1M");
        PolicyDocument policy = new PolicyDocument(Map.of(
                "a", new Model("a", Map.of("input_tokens", price), "standard", Optional.of("b")),
                "b", new Model("b", Map.of("input_tokens", price), "standard", Optional.of("a"))), Map.of());
        Cap cap = new Cap("budget", null, BigDecimal.ONE, Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"), Optional.empty(),
                false, false, Cap.DEFAULT_THRESHOLDS, LimitAction.DOWNGRADE, false, Optional.empty());
        Customer customer = Customer.unconfigured("acme", null).withCaps(List.of(cap));
        CheckRequest request = new CheckRequest("acme", null, null, "chat", "a", Map.of("input_tokens", BigDecimal.ONE), Optional.empty());

        // when the cap is used up, then the walk ends (each model tried once) with a refusal
        Decision d = Enforcement.decide(request, customer, policy, (id, start) -> BigDecimal.TEN, Optional.empty(), NOW);
        assertThat(d.code()).isEqualTo(Decision.Code.SPEND_CAP_REACHED);
    }

    @ParameterizedTest
    @ValueSource(strings = {"1e10000000", "1e-4000000", "1e25", "0.0000000000000000001", "-5", "١٢", "12,5", "0x10", "NaN", "Infinity", " ", ""})
    void decimalsOutsideTheBoundsAreRefusedWithAReason(String text) {
        long started = System.nanoTime();
        assertThatThrownBy(() -> Decimals.parse(text, Decimals.MONEY)).isInstanceOf(Decimals.OutOfBounds.class).hasMessageNotContaining("Exception");
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
    }

    @Test
    void aHugeDigitStringIsRefusedBeforeItIsParsed() {
        assertThatThrownBy(() -> Decimals.parse("9".repeat(5000), Decimals.QUANTITY)).hasMessageContaining("at most 64 characters");
    }

    @Test
    void decimalsWithinTheBoundsAreReadExactly() {
        assertThat(Decimals.parse("999999999999999.999999999999999999", Decimals.MONEY)).isEqualByComparingTo("999999999999999.999999999999999999");
        assertThat(Decimals.parse("1.5e3", Decimals.QUANTITY)).isEqualByComparingTo("1500");
        assertThat(Decimals.parse("0.000000001", Decimals.QUANTITY)).isEqualByComparingTo("1e-9");
        assertThat(Decimals.parse("20.000000000000000000000", Decimals.MONEY)).isEqualByComparingTo("20");
    }

    @Test
    void capAmountsAndThresholdsAreBounded() {
        assertThat(capErrors("{\"amount\": \"1e10000000\"}")).containsExactly("cap.amount: an amount below 10^15 (1000000000000000)");
        assertThat(capErrors("{\"amount\": \"1.0000000000000000001\"}")).containsExactly("cap.amount: an amount with at most 18 digits after the point");
        assertThat(capErrors("{\"amount\": \"5\", \"thresholds\": " + "[0.5, 0.6, 0.7, 0.8, 0.81, 0.82, 0.83, 0.84, 0.85, 0.9, 1.0]}"))
                .containsExactly("cap.thresholds: at most 10 thresholds");
    }

    @ParameterizedTest
    @ValueSource(strings = {"Team\nbudget", "Budget\u0000", "See https://evil.example", "visit www.evil.example", "\u202Eright-to-left",
            "half an emoji \ud83d", "\ude80 the other half", "   ", "Team\u200Bbudget"})
    void labelsAreOnePrintableLineWithoutLinks(String label) {
        assertThat(capErrors("{\"amount\": \"5\", \"label\": " + JSON.valueToTree(label) + "}")).singleElement().asString().startsWith("cap.label: ");
    }

    @Test
    void aUserOrKeyThatCannotBeStoredAsSentIsRefused() {
        assertThat(capErrors("{\"amount\": \"5\", \"user\": \"usr_\ud800\"}")).singleElement().asString().startsWith("cap.user: not valid Unicode");
        assertThat(capErrors("{\"amount\": \"5\", \"api_key\": \"\udc00key\"}")).singleElement().asString().startsWith("cap.api_key: not valid Unicode");
        assertThat(capErrors("{\"amount\": \"5\", \"user\": \"\ud83d\ude80 usr\"}")).isEmpty();
    }

    @Test
    void aLabelMayHoldEmojiAndLettersOfAnyScript() {
        assertThat(capErrors("{\"amount\": \"5\", \"label\": \"\ud83d\ude80 Équipe 東京 budget\"}")).isEmpty();
    }

    @Test
    void integersMustBeIntegersInRange() {
        assertThat(customerErrors("{\"billing_anchor_day\": 1.5}")).containsExactly(
                "customer.billing_anchor_day: a day of the month, 1 to 31 (clamped to short months)");
        assertThat(customerErrors("{\"billing_anchor_day\": \"٣\"}")).hasSize(1);
        assertThat(grantErrors("{\"amount\": \"5\", \"priority\": \"high\"}")).containsExactly(
                "grant.priority: a whole number from 0 to 1000000 (lower burns first)");
        assertThat(grantErrors("{\"amount\": \"5\", \"priority\": 99999999999999}")).hasSize(1);
        assertThat(grantErrors("{\"amount\": \"5\", \"priority\": 7}")).isEmpty();
    }

    @ParameterizedTest
    @ValueSource(strings = {"+05:30", "SystemV/PST8", "US/Pacific", "GMT+5", "Europe/Nowhere", "EST"})
    void timezonesAreIanaRegionIds(String zone) {
        assertThat(customerErrors("{\"timezone\": \"" + zone + "\"}")).singleElement().asString().startsWith("customer.timezone: ");
    }

    @Test
    void regionIdsAndUtcAreAccepted() {
        assertThat(customerErrors("{\"timezone\": \"Asia/Kolkata\"}")).isEmpty();
        assertThat(customerErrors("{\"timezone\": \"UTC\"}")).isEmpty();
    }

    @Test
    void timesAreRfc3339WithinYearsTheWireHolds() {
        assertThat(grantErrors("{\"amount\": \"5\", \"effective_at\": \"+999999999-01-01T00:00:00Z\"}")).hasSize(1);
        assertThat(grantErrors("{\"amount\": \"5\", \"effective_at\": \"1969-12-31T23:59:59Z\"}")).hasSize(1);
        assertThat(Times.parse("2016-12-31T23:59:60Z")).isEqualTo(Instant.parse("2016-12-31T23:59:59.999999999Z"));
        assertThat(Times.parse("2026-11-21T15:30:00+05:30")).isEqualTo(Instant.parse("2026-11-21T10:00:00Z"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"bad@x.test>", "a@b", "Name <a@b.example>", "a@@b.example", "a b@c.example", "a@b.example\nBcc: x@y.example"})
    void emailAddressesAreStrict(String address) {
        assertThat(customerErrors("{\"contacts\": {\"emails\": [" + JSON.valueToTree(address) + "]}}")).singleElement().asString()
                .startsWith("customer.contacts.emails[0]: ");
    }

    @ParameterizedTest
    @ValueSource(strings = {"http://169.254.169.254/latest/meta-data", "https://169.254.169.254/", "https://[::1]:8080/", "https://2130706433/",
            "https://0x7f000001/", "https://0177.0.0.1/", "https://127.1/", "https://10.0.0.5/", "https://192.168.1.1/", "https://172.16.0.1/",
            "https://0.0.0.0/", "https://[::]/", "https://[::ffff:127.0.0.1]/", "https://[fd00::1]/", "https://100.64.0.1/", "https://localhost/",
            "https://api.localhost/", "https://localhost./", "https://metadata.google.internal./", "https://127.0.0.1./", "http://hooks.example.com/", "https://user:pw@hooks.example.com/", "ftp://hooks.example.com/", "https:///x"})
    void webhookUrlsMustBePublicHttps(String url) {
        assertThat(WebhookDestinations.problem(url, Set.of())).as(url).isNotNull();
    }

    @Test
    void publicHttpsAndAllowListedDevelopmentHostsAreAccepted() {
        assertThat(WebhookDestinations.problem("https://hooks.example.com/capstream", Set.of())).isNull();
        assertThat(WebhookDestinations.problem("https://8.8.8.8/hook", Set.of())).isNull();
        assertThat(WebhookDestinations.problem("https://hooks.example.com./capstream", Set.of())).isNull();
        assertThat(WebhookDestinations.problem("http://localhost:8025/webhooks", Set.of("localhost"))).isNull();
        assertThat(WebhookDestinations.problem("http://127.0.0.1:8025/webhooks", Set.of("127.0.0.1:8025"))).isNull();
        assertThat(WebhookDestinations.problem("http://127.0.0.1:9000/", Set.of("127.0.0.1:8025"))).isNotNull();
    }

    @Test
    void checkRequestsRefuseTyposAndWhatThePolicyCannotPrice() {
        Specs specs = new Specs(new ArrayList<>());
        Optional<CheckRequest> typo = specs.checkRequest(json("{\"customer\": \"acme\", \"feature\": \"chat\", \"estimat\": {\"cost\": \"1\"}}"));
        assertThat(specs.problems().stream().map(Problem::toString).toList()).singleElement().asString().startsWith("estimat: unknown field");

        PolicyDocument policy = PolicyLoader.fromYaml("models: {gpt-4o: {prices: {input_tokens: \"2.50/1M\"}}}");
        CheckRequest unknownModel = new CheckRequest("acme", null, null, "chat", "gpt-9", Map.of(), Optional.empty());
        CheckRequest unknownMeter = new CheckRequest("acme", null, null, "chat", "gpt-4o", Map.of("frames", BigDecimal.ONE), Optional.empty());
        assertThat(unknownModel.problems(policy)).singleElement().asString().startsWith("model: unknown model 'gpt-9'");
        assertThat(unknownMeter.problems(policy)).singleElement().asString().startsWith("estimate.frames: no price for meter 'frames'");
        assertThat(typo).isPresent();
    }

    @Test
    void duplicateKeysInThePolicyDocumentAreRefused() {
        assertThatThrownBy(() -> PolicyLoader.fromYaml("""
                default_plan: free
                default_plan: pro
                """)).isInstanceOfSatisfying(PolicyValidationException.class, e ->
                assertThat(e.errors()).singleElement().asString().contains("Duplicate field 'default_plan'"));
    }

    @Test
    void pricesPerUnitAreBoundedSoOneEventsCostFitsTheTotals() {
        assertThatThrownBy(() -> UnitPrice.parse("5000")).hasMessageContaining("at most 1000 USD");
        assertThatThrownBy(() -> UnitPrice.parse("1/1000000000000000")).isInstanceOf(IllegalArgumentException.class);
        assertThat(UnitPrice.parse("0.0375/1M").perUnit()).isEqualByComparingTo("0.0000000375");
    }

    @Test
    void aCostFinerThanMoneyIsKeptIsUnpriceableNotRounded() {
        PolicyDocument policy = PolicyLoader.fromYaml("meters: {gpu_seconds: {price: \"0.0000000375\"}}");
        assertThatThrownBy(() -> Pricing.cost(policy, null, Map.of("gpu_seconds", new BigDecimal("0.000000001"))))
                .isInstanceOfSatisfying(UnpriceableUsageException.class, e -> assertThat(e.field()).isEqualTo("usage.gpu_seconds"));
        assertThat(Pricing.cost(policy, null, Map.of("gpu_seconds", new BigDecimal("1000")))).isEqualByComparingTo("0.0000375");
    }

    @Test
    void zoneIdOfAcceptedCustomerIsTheRegion() {
        Specs specs = new Specs(new ArrayList<>());
        assertThat(specs.customer("customer", json("{\"timezone\": \"Asia/Kolkata\"}"), "acme", Optional.empty(), Set.of()))
                .map(Customer::timezone).contains(ZoneId.of("Asia/Kolkata"));
    }

    @Test
    void notifyOnJumpIsEachUnlessSetToHighestAndAnythingElseIsNamed() {
        Specs specs = new Specs(new ArrayList<>());
        assertThat(specs.customer("customer", json("{\"contacts\": {\"emails\": [\"a@b.example\"]}}"), "acme", Optional.empty(), Set.of()))
                .map(c -> c.contacts().notifyOnJump()).contains(Customer.Contacts.OnJump.EACH);
        assertThat(specs.customer("customer", json("{\"contacts\": {\"notify_on_jump\": \"highest\"}}"), "acme", Optional.empty(), Set.of()))
                .map(c -> c.contacts().notifyOnJump()).contains(Customer.Contacts.OnJump.HIGHEST);
        assertThat(customerErrors("{\"contacts\": {\"notify_on_jump\": \"sometimes\"}}"))
                .containsExactly("customer.contacts.notify_on_jump: one of [each, highest]");
    }
}

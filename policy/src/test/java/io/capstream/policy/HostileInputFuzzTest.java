package io.capstream.policy;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.catalogue.PolicyValidationException;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.decision.Enforcement;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.input.Problem;
import io.capstream.policy.input.Specs;
import io.capstream.policy.limit.Cap;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * A fuzz suite over the real readers and the decision: random and mutated values, caps, grants,
 * customers, check requests and policy documents. Every input ends in a refusal that names a field or
 * in an accepted value that round-trips exactly; never an exception, never more than a bounded time.
 */
class HostileInputFuzzTest {
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");
    static final Duration BOUND = Duration.ofSeconds(2);
    static final ObjectMapper JSON = new ObjectMapper();
    static final JsonNodeFactory NODES = JsonNodeFactory.instance;
    static final String BASE_POLICY = """
            models:
              big: {tier: premium, downgrade_to: small, prices: {input_tokens: "2.50/1M", output_tokens: "10/1M"}}
              small: {tier: standard, prices: {input_tokens: "0.15/1M", output_tokens: "0.60/1M"}}
            meters:
              requests: {price: "0.001"}
            plans:
              pro:
                price: "20"
                model_tiers: [standard]
                rate_limits: {requests_per_minute_per_key: 100}
                entitlements:
                  chat: {measure: USD, included: "10", period: billing, over: downgrade, warn_at: [0.5, 1.0]}
                default_caps:
                  - {id: monthly, label: Monthly, amount: "50", period: daily, action: block}
            default_plan: pro
            """;

    /** Decimal-looking text: valid numbers, their mutations, and the classic hostile ones. */
    @Provide
    Arbitrary<String> decimalTexts() {
        Arbitrary<String> numbers = Arbitraries.bigDecimals().between(new BigDecimal("-1e20"), new BigDecimal("1e20")).ofScale(22)
                .map(BigDecimal::toPlainString);
        Arbitrary<String> exponents = Combinators.combine(Arbitraries.integers().between(-9, 9), Arbitraries.integers().between(-99_999_999, 99_999_999))
                .as((m, e) -> m + "e" + e);
        Arbitrary<String> junk = Arbitraries.strings().withChars("0123456789.eE+-_ ,x١٢٣".toCharArray()).ofMaxLength(80);
        Arbitrary<String> classics = Arbitraries.of("1e10000000", "1e-4000000", "NaN", "-0", "0e0", "00012.5000", ".5", "5.", "1e2147483648",
                "9".repeat(5000), "\u0000", "");
        return Arbitraries.oneOf(numbers, exponents, junk, classics);
    }

    @Property(tries = 2000)
    void everyDecimalIsRefusedWithAReasonOrAcceptedWithinItsBoundAndRoundTrips(@ForAll("decimalTexts") String text) {
        for (Decimals.Bound bound : List.of(Decimals.MONEY, Decimals.QUANTITY)) {
            BigDecimal value = bounded(() -> {
                try {
                    return Decimals.parse(text, bound);
                } catch (Decimals.OutOfBounds e) {
                    assertThat(e.getMessage()).isNotBlank();
                    return null;
                }
            });
            if (value != null) {
                assertThat(value.signum()).isNotNegative();
                assertThat(value.stripTrailingZeros().scale()).isLessThanOrEqualTo(bound.scale());
                assertThat(value).isLessThan(BigDecimal.TEN.pow(bound.integerDigits()));
                assertThat(Decimals.parse(Decimals.formatQuantity(value), bound)).isEqualByComparingTo(value);
            }
        }
    }

    /** A JSON value of any kind, hostile ones included. */
    @Provide
    Arbitrary<JsonNode> values() {
        return Arbitraries.oneOf(
                decimalTexts().map(NODES::textNode),
                Arbitraries.strings().ofMaxLength(300).map(NODES::textNode),
                Arbitraries.bigDecimals().between(new BigDecimal("-1e30"), new BigDecimal("1e30")).ofScale(25).map(NODES::numberNode),
                Arbitraries.longs().map(NODES::numberNode),
                Arbitraries.of(true, false).map(NODES::booleanNode),
                Arbitraries.just(NODES.nullNode()),
                Arbitraries.of("UTC", "Asia/Kolkata", "+05:30", "SystemV/PST8", "2026-11-21T10:00:00Z", "2016-12-31T23:59:60Z",
                        "+999999999-01-01T00:00:00Z", "billing", "weekly:mon", "monthly:٣", "block", "notify", "https://hooks.example.com/x",
                        "http://169.254.169.254/", "bad@x.test>", "a@b.example", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw").map(NODES::textNode),
                Arbitraries.integers().between(0, 12).map(n -> {
                    var array = NODES.arrayNode();
                    for (int i = 0; i < n; i++) {
                        array.add(new BigDecimal("0." + (i + 1)));
                    }
                    return array;
                }),
                Arbitraries.just(NODES.objectNode().put("cost", "1e10000000")));
    }

    @Provide
    Arbitrary<ObjectNode> objects() {
        List<String> fields = List.of("id", "label", "amount", "measure", "feature", "model", "user", "api_key", "period", "timezone",
                "overage_only", "ignore_grants", "thresholds", "action", "strict", "fail_open", "plan", "billing_anchor_day", "status",
                "category", "priority", "effective_at", "expires_at", "customer", "estimate", "reserve", "estimat", "emails", "webhook_url");
        return Arbitraries.maps(Arbitraries.of(fields), values()).ofMaxSize(10).map(m -> {
            ObjectNode node = NODES.objectNode();
            m.forEach(node::set);
            return node;
        });
    }

    @Property(tries = 1000)
    void capsGrantsCustomersAndChecksAreRefusedWithAFieldOrAccepted(@ForAll("objects") ObjectNode body) {
        bounded(() -> {
            Specs specs = new Specs(new ArrayList<>());
            Optional<Cap> cap = specs.cap("cap", body, "c1");
            assertRefusedWithFieldsOrAccepted(specs, cap, "cap");
            cap.ifPresent(c -> assertThat(c.amount()).isLessThan(BigDecimal.TEN.pow(15)));

            specs = new Specs(new ArrayList<>());
            Optional<Grant> grant = specs.grant("grant", body, "g1", NOW);
            assertRefusedWithFieldsOrAccepted(specs, grant, "grant");

            specs = new Specs(new ArrayList<>());
            ObjectNode contacts = NODES.objectNode();
            contacts.set("emails", NODES.arrayNode().add(body.path("emails").asText("x")));
            body.set("contacts", contacts);
            Optional<Customer> customer = specs.customer("customer", body, "acme", Optional.empty(), Set.of());
            assertRefusedWithFieldsOrAccepted(specs, customer, "customer");

            specs = new Specs(new ArrayList<>());
            Optional<CheckRequest> check = specs.checkRequest(body);
            if (specs.problems().stream().map(Problem::toString).toList().isEmpty() && check.isPresent()) {
                PolicyDocument policy = PolicyLoader.fromYaml(BASE_POLICY);
                if (check.get().problems(policy).isEmpty()) {
                    Customer c = customer.orElse(Customer.unconfigured("acme", "pro"));
                    Decision d = Enforcement.decide(check.get(), c, policy, (id, start) -> new BigDecimal("49.99"), Optional.empty(), NOW);
                    assertThat(d.code()).isNotEqualTo(Decision.Code.INVALID_REQUEST);
                }
            }
            return null;
        });
    }

    /** The base policy with one scalar replaced by a hostile value. */
    @Provide
    Arbitrary<String> policies() {
        List<String> scalars = List.of("premium", "small", "\"2.50/1M\"", "\"10/1M\"", "\"0.001\"", "\"20\"", "standard", "100", "USD", "\"10\"",
                "billing", "downgrade", "0.5", "1.0", "monthly", "Monthly", "\"50\"", "daily", "block", "pro");
        Arbitrary<String> hostile = Arbitraries.oneOf(decimalTexts().map(t -> "\"" + t.replace("\"", "") + "\""),
                Arbitraries.of("big", "small", "[1, 2]", "{a: 1}", "~", "\"1e10000000\"", "\"5000\"", "\"1/1B\"", "99999999999999", "1.5",
                        "\"\\u0000\"", "weekly:xyz", "*anchor", "&anchor x"));
        return Combinators.combine(Arbitraries.of(scalars), hostile).as((target, replacement) ->
                BASE_POLICY.replaceFirst(java.util.regex.Pattern.quote(target), java.util.regex.Matcher.quoteReplacement(replacement)));
    }

    @Property(tries = 500)
    void policyDocumentsAreRefusedWithPathsOrAcceptedAndDecidedInBoundedTime(@ForAll("policies") String yaml) {
        bounded(() -> {
            PolicyDocument policy;
            try {
                policy = PolicyLoader.fromYaml(yaml);
            } catch (PolicyValidationException e) {
                assertThat(e.errors()).isNotEmpty().allSatisfy(err -> assertThat(err).contains(": "));
                return null;
            }
            Customer customer = Customer.unconfigured("acme", policy.defaultPlan().orElse(null));
            for (String model : policy.models().keySet()) {
                CheckRequest request = new CheckRequest("acme", "u", "k", "chat", model, Map.of("input_tokens", new BigDecimal("1000")), Optional.empty());
                if (request.problems(policy).isEmpty()) {
                    Enforcement.decide(request, customer, policy, (id, start) -> new BigDecimal("1000"), Optional.empty(), NOW);
                }
            }
            return null;
        });
    }

    private static void assertRefusedWithFieldsOrAccepted(Specs specs, Optional<?> value, String path) {
        if (!specs.problems().isEmpty()) {
            assertThat(specs.problems()).allSatisfy(p -> {
                assertThat(p.field()).matches("(" + path + "|customer|user|api_key|feature|model|estimate|reserve|estimat|[a-z_]+)[a-z_.\\[\\]0-9]*");
                assertThat(p.message()).isNotBlank();
            });
        } else {
            assertThat(value).isPresent();
        }
    }

    private static <T> T bounded(Supplier<T> work) {
        long started = System.nanoTime();
        T result = work.get();
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(BOUND);
        return result;
    }
}

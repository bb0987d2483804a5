package io.capstream.policy;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.catalogue.PolicyValidationException;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

class PolicyLoaderTest {
    @Test
    void reportsEveryErrorWithItsPath() {
        assertThatThrownBy(() -> PolicyLoader.fromYaml("""
                models:
                  gpt-4o:
                    downgrade_to: gpt-3
                    prices: {input_tokens: 2.5, output_tokens: "ten"}
                  bad: {}
                meters:
                  requests: {cost: "1"}
                """))
                .isInstanceOfSatisfying(PolicyValidationException.class, e -> assertThat(e.errors()).containsExactlyInAnyOrder(
                        "models.gpt-4o.prices.input_tokens: write prices as strings (\"2.50/1M\"), never as floating-point numbers",
                        "models.gpt-4o.prices.output_tokens: 'ten' is not a price: write it as in a price list, e.g. \"2.50/1M\", \"0.40/1K\" or \"0.0011\"",
                        "models.bad.prices: required",
                        "meters.requests.price: required",
                        "models.gpt-4o.downgrade_to: unknown model 'gpt-3'"));
    }

    @Test
    void refusesSomethingThatIsNotYaml() {
        assertThatThrownBy(() -> PolicyLoader.fromYaml("models: [")).hasMessageContaining("not valid YAML");
    }

    @Test
    void theLocalStacksExamplePolicyIsValidAndHasTheWholeQuotaMatrix() throws Exception {
        PolicyDocument policy = PolicyLoader.fromYaml(java.nio.file.Files.readString(java.nio.file.Path.of("../deploy/config/policy.yaml")));
        assertThat(policy.plans()).containsOnlyKeys("free", "pro", "team", "enterprise");
        assertThat(policy.plans().values()).allSatisfy(p ->
                assertThat(p.entitlements()).containsOnlyKeys("chat", "drafts", "deep_research"));
        assertThat(policy.defaultPlan()).contains("free");
        assertThat(policy.links().raiseCapFor("acme", "cap:monthly-spend")).hasValueSatisfying(u -> assertThat(u).contains("customer=acme"));
    }

    @Test
    void plansAreValidatedWithPaths() {
        assertThatThrownBy(() -> PolicyLoader.fromYaml("""
                meters: {requests: {price: "0"}}
                plans:
                  pro:
                    price: ten
                    entitlements:
                      chat: {measure: tokens, included: "1", period: fortnightly, over: explode}
                    default_caps: [{amount: "5", overage_only: true, measure: requests}]
                default_plan: gold
                """))
                .isInstanceOfSatisfying(PolicyValidationException.class, e -> assertThat(e.errors()).contains(
                        "plans.pro.price: 'ten' is not a decimal number",
                        "plans.pro.entitlements.chat.measure: 'tokens' is neither USD nor a priced meter",
                        "plans.pro.entitlements.chat.over: one of [bill_overage, downgrade, throttle, block]",
                        "plans.pro.default_caps[0].id: required",
                        "plans.pro.default_caps[0].measure: overage_only and ignore_grants apply to USD caps only, not to 'requests'",
                        "default_plan: unknown plan 'gold'"));
    }
}

package io.capstream.policy;

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
}

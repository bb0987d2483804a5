package io.capstream.policy;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.catalogue.UnpriceableUsageException;
import io.capstream.policy.input.Decimals;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.math.BigDecimal;
import java.util.Map;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

class PricingTest {
    static final PolicyDocument POLICY = PolicyLoader.fromYaml("""
            models:
              gpt-4o:
                tier: premium
                downgrade_to: gpt-4o-mini
                prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}
              gpt-4o-mini:
                prices: {input_tokens: "0.15/1M", output_tokens: "0.60/1M"}
            meters:
              requests: {price: "0"}
              gpu_seconds: {price: "0.0011"}
            """);

    @Test
    void modelPricesItsMetersAndOtherMetersUseTheMeterList() {
        // given 1200 input and 350 output tokens on gpt-4o, and one request
        Map<String, BigDecimal> usage = Map.of(
                "input_tokens", new BigDecimal(1200), "output_tokens", new BigDecimal(350), "requests", BigDecimal.ONE);
        // when
        BigDecimal cost = Pricing.cost(POLICY, "gpt-4o", usage);
        // then 1200 × 0.0000025 + 350 × 0.00001 = 0.003 + 0.0035
        assertThat(cost).isEqualByComparingTo("0.0065");
    }

    @Test
    void oneMillionEventsOfFifteenHundredMillionthsOfACentSumToExactlyFifteenCents() {
        BigDecimal total = BigDecimal.ZERO;
        for (int i = 0; i < 1_000_000; i++) {
            total = total.add(Pricing.cost(POLICY, "gpt-4o-mini", Map.of("input_tokens", BigDecimal.ONE)));
        }
        assertThat(total).isEqualByComparingTo("0.15");
    }

    @Test
    void unknownModelAndUnpricedMeterNameTheField() {
        assertThatThrownBy(() -> Pricing.cost(POLICY, "gpt-9", Map.of("input_tokens", BigDecimal.ONE)))
                .isInstanceOfSatisfying(UnpriceableUsageException.class, e -> assertThat(e.field()).isEqualTo("model"));
        assertThatThrownBy(() -> Pricing.cost(POLICY, "gpt-4o", Map.of("images", BigDecimal.ONE)))
                .isInstanceOfSatisfying(UnpriceableUsageException.class, e -> assertThat(e.field()).isEqualTo("usage.images"));
    }

    @Property
    void costOfASplitEventEqualsCostOfTheWhole(
            @ForAll @LongRange(min = 0, max = 10_000_000) long a,
            @ForAll @LongRange(min = 0, max = 10_000_000) long b) {
        BigDecimal whole = Pricing.cost(POLICY, "gpt-4o", Map.of("output_tokens", BigDecimal.valueOf(a + b)));
        BigDecimal parts = Pricing.cost(POLICY, "gpt-4o", Map.of("output_tokens", BigDecimal.valueOf(a)))
                .add(Pricing.cost(POLICY, "gpt-4o", Map.of("output_tokens", BigDecimal.valueOf(b))));
        assertThat(parts).isEqualByComparingTo(whole);
    }

    @Property
    void nEventsOfOneTokenCostExactlyNTimesThePrice(@ForAll @IntRange(min = 0, max = 20_000) int n) {
        BigDecimal sum = BigDecimal.ZERO;
        for (int i = 0; i < n; i++) {
            sum = sum.add(Pricing.cost(POLICY, "gpt-4o-mini", Map.of("output_tokens", BigDecimal.ONE)));
        }
        assertThat(sum).isEqualByComparingTo(new BigDecimal("0.0000006").multiply(BigDecimal.valueOf(n)));
        assertThat(Decimals.money(sum)).isEqualByComparingTo(sum); // fits the wire scale without rounding
    }

    @Property(tries = 2_000)
    void checkingRefusesExactlyWhatPricingRefuses(@ForAll @LongRange(min = 0, max = 999_999_999_999_999L) long unscaled,
                                                  @ForAll @IntRange(min = 0, max = 9) int scale,
                                                  @ForAll("meters") String meter, @ForAll("models") String model) {
        Map<String, BigDecimal> usage = Map.of(meter, BigDecimal.valueOf(unscaled, scale));
        String priced = model.isEmpty() ? null : model;
        Throwable byCost = catchThrowable(() -> Pricing.cost(POLICY_FINE, priced, usage));
        Throwable byCheck = catchThrowable(() -> Pricing.check(POLICY_FINE, priced, usage));
        assertThat(byCheck == null).isEqualTo(byCost == null);
        if (byCost != null) {
            assertThat(byCheck).hasMessage(byCost.getMessage());
        }
    }

    /** Prices with many decimals, so that some quantities cost finer than money is kept with. */
    static final PolicyDocument POLICY_FINE = PolicyLoader.fromYaml("""
            models:
              fine: {prices: {input_tokens: "0.000000000001"}}
            meters:
              gpu_seconds: {price: "0.0011"}
              pages: {price: "0.123456789012"}
            """);

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> meters() {
        return net.jqwik.api.Arbitraries.of("input_tokens", "gpu_seconds", "pages", "unpriced");
    }

    @net.jqwik.api.Provide
    net.jqwik.api.Arbitrary<String> models() {
        return net.jqwik.api.Arbitraries.of("fine", "", "unknown");
    }
}

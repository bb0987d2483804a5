package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.Account;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.decision.Enforcement;
import io.capstream.policy.input.FixedPoint;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.limit.CurrentPeriods;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.constraints.LongRange;
import org.junit.jupiter.api.Test;

/** The check's allocation-free fixed-point path decides exactly as the BigDecimal one. */
class FixedPointTest {

    @Provide
    Arbitrary<BigDecimal> amounts() {
        // whole dollars, cents, and up to 18 digits after the point (the fixed-point path takes 12; beyond it, BigDecimal decides)
        return Combinators.combine(Arbitraries.longs().between(0, 5_000_000_000L), Arbitraries.integers().between(0, 18))
                .as((unscaled, scale) -> BigDecimal.valueOf(unscaled, scale));
    }

    @Property(tries = 2000)
    void convertsExactlyOrNotAtAll(@ForAll("amounts") BigDecimal value) {
        long fixed = FixedPoint.of(value);
        if (fixed != FixedPoint.NONE) {
            assertThat(BigDecimal.valueOf(fixed, FixedPoint.SCALE)).isEqualByComparingTo(value);
        } else {
            assertThat(value.stripTrailingZeros().scale() > FixedPoint.SCALE || value.movePointRight(FixedPoint.SCALE).abs()
                    .compareTo(BigDecimal.valueOf(Long.MAX_VALUE)) > 0).isTrue();
        }
    }

    @Test
    void sumsAndProductsThatDoNotFitAreNone() {
        assertThat(FixedPoint.plus(Long.MAX_VALUE - 1, 2)).isEqualTo(FixedPoint.NONE);
        assertThat(FixedPoint.times(Long.MAX_VALUE / 2, 3)).isEqualTo(FixedPoint.NONE);
        assertThat(FixedPoint.times(2_500_000, 1_200)).isEqualTo(3_000_000_000L);
        assertThat(FixedPoint.whole(new BigDecimal("1200"))).isEqualTo(1200);
        assertThat(FixedPoint.whole(new BigDecimal("1.5"))).isEqualTo(-1);
        assertThat(FixedPoint.of(new BigDecimal("-1"))).isEqualTo(FixedPoint.NONE);
    }

    @Property(tries = 1000)
    void pricingInFixedPointIsTheExactCostWhereItFits(@ForAll @LongRange(min = 0, max = 50_000_000) long input,
                                                      @ForAll @LongRange(min = 0, max = 5_000_000) long output) {
        Map<String, BigDecimal> usage = Map.of("input_tokens", BigDecimal.valueOf(input), "output_tokens", BigDecimal.valueOf(output));
        long fixed = Pricing.costFixed(EnforcementTest.POLICY_WITH_OUTPUT, "gpt-4o", usage);
        BigDecimal exact = Pricing.cost(EnforcementTest.POLICY_WITH_OUTPUT, "gpt-4o", usage);
        assertThat(fixed).isNotEqualTo(FixedPoint.NONE);
        assertThat(BigDecimal.valueOf(fixed, FixedPoint.SCALE)).isEqualByComparingTo(exact);
    }

    /** A usage source whose conversion is refused: every comparison goes the BigDecimal way. */
    record ExactOnly(Map<String, BigDecimal> used) implements Enforcement.Usage {
        public BigDecimal used(String customer, String limitId, Instant periodStart, Instant now) {
            return used.getOrDefault(limitId, BigDecimal.ZERO);
        }

        public long usedFixed(String customer, String limitId, Instant periodStart, Instant now) {
            return FixedPoint.NONE;
        }
    }

    /** The same usage, converted (the fast path where the values fit). */
    record Converted(Map<String, BigDecimal> used) implements Enforcement.Usage {
        public BigDecimal used(String customer, String limitId, Instant periodStart, Instant now) {
            return used.getOrDefault(limitId, BigDecimal.ZERO);
        }
    }

    @Property(tries = 3000)
    void decisionsAreTheSameOnBothPaths(@ForAll("amounts") BigDecimal capAmount, @ForAll("amounts") BigDecimal otherCap,
                                        @ForAll("amounts") BigDecimal usedBudget, @ForAll("amounts") BigDecimal usedOther,
                                        @ForAll @LongRange(min = 0, max = 2_000_000) long tokens, @ForAll("amounts") BigDecimal statedCost,
                                        @ForAll boolean stated) {
        Customer customer = new Customer("acme", "pro", EnforcementTest.LA, 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE,
                List.of(cap("budget", capAmount, LimitAction.BLOCK), cap("other", otherCap, LimitAction.NOTIFY)), List.of());
        CheckRequest request = new CheckRequest("acme", "usr_1", "key_1", "chat", "gpt-4o",
                Map.of("input_tokens", BigDecimal.valueOf(tokens)), stated ? Optional.of(statedCost) : Optional.empty());
        Account account = Account.of(customer, EnforcementTest.POLICY_WITH_OUTPUT);
        Map<String, BigDecimal> used = Map.of("cap:budget", usedBudget, "cap:other", usedOther);
        Decision exact = Enforcement.decide(request, account, new ExactOnly(used), Optional.empty(), EnforcementTest.NOW, new CurrentPeriods());
        Decision fast = Enforcement.decide(request, account, new Converted(used), Optional.empty(), EnforcementTest.NOW, new CurrentPeriods());
        assertThat(fast).isEqualTo(exact);
    }

    static Cap cap(String id, BigDecimal amount, LimitAction action) {
        return new Cap(id, null, amount, Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"), Optional.empty(), false, false,
                Cap.DEFAULT_THRESHOLDS, action, false, Optional.empty());
    }
}

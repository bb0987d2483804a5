package io.capstream.policy;

import io.capstream.policy.booking.Accounting;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.limit.Entitlement;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.Accounting.GrantBalance;
import io.capstream.policy.booking.Accounting.Split;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class AccountingTest {
    static final Instant NOW = Instant.parse("2026-11-21T10:00:00Z");
    static final Entitlement CHAT_10_USD = new Entitlement("chat", Measure.USD, new BigDecimal("10"),
            ResetSchedule.parse("billing"), LimitAction.BILL_OVERAGE, Cap.DEFAULT_THRESHOLDS);

    static Grant grant(String id, String amount, int priority, Instant expires) {
        return new Grant(id, new BigDecimal(amount), "promotional", priority, NOW.minusSeconds(3600), Optional.ofNullable(expires), Optional.empty());
    }

    static Cap cap(boolean overageOnly, boolean ignoreGrants) {
        return new Cap("c", null, new BigDecimal("100"), Measure.USD, CapFilter.ALL, ResetSchedule.parse("billing"), Optional.empty(),
                overageOnly, ignoreGrants, Cap.DEFAULT_THRESHOLDS, LimitAction.BLOCK, false, Optional.empty());
    }

    @Test
    void anEventStraddlingThePlanGrantsAndBillingSplitsExactly() {
        // given $8 of the $10 included already used, and a $3 promotional grant
        BigDecimal cost = new BigDecimal("7.50");
        BigDecimal included = Accounting.includedPart(Optional.of(CHAT_10_USD), cost, cost, new BigDecimal("8"));
        // when
        Split split = Accounting.split(cost, included, List.of(new GrantBalance(grant("promo", "3", 1, null), new BigDecimal("3"))), NOW, "chat");
        // then c = 7.50: i = 2, o = 5.50, g = 3, b = 2.50
        assertThat(split.included()).isEqualByComparingTo("2");
        assertThat(split.overage()).isEqualByComparingTo("5.50");
        assertThat(split.grantCovered()).isEqualByComparingTo("3");
        assertThat(split.billed()).isEqualByComparingTo("2.50");
        assertThat(split.grantBurns()).containsEntry("promo", new BigDecimal("3"));
    }

    @ParameterizedTest(name = "overage_only={0} ignore_grants={1} counts {2}")
    @CsvSource({
        "false, false, 7.50",  // all spend c
        "false, true,  4.50",  // i + b = 2 + 2.50
        "true,  false, 5.50",  // o
        "true,  true,  2.50"   // b
    })
    void capsCountWhatTheDesignTableSays(boolean overageOnly, boolean ignoreGrants, String expected) {
        Split split = new Split(new BigDecimal("7.50"), new BigDecimal("2"), new BigDecimal("3"), new BigDecimal("2.50"), Map.of());
        assertThat(Accounting.counted(cap(overageOnly, ignoreGrants), split, Map.of())).isEqualByComparingTo(expected);
    }

    @Test
    void grantsBurnByPriorityThenSoonestExpiryThenId() {
        Instant soon = NOW.plusSeconds(86_400);
        Instant later = NOW.plusSeconds(7 * 86_400);
        List<GrantBalance> balances = List.of(
                new GrantBalance(grant("z-never", "5", 1, null), new BigDecimal("5")),
                new GrantBalance(grant("b-later", "5", 1, later), new BigDecimal("5")),
                new GrantBalance(grant("a-later", "5", 1, later), new BigDecimal("5")),
                new GrantBalance(grant("soon", "1", 1, soon), new BigDecimal("1")),
                new GrantBalance(grant("paid", "100", 2, null), new BigDecimal("100")));

        Split split = Accounting.split(new BigDecimal("12"), BigDecimal.ZERO, balances, NOW, "chat");

        assertThat(split.grantBurns().keySet()).containsExactly("soon", "a-later", "b-later", "z-never");
        assertThat(split.grantBurns().get("z-never")).isEqualByComparingTo("1");
        assertThat(split.billed()).isZero();
    }

    @Test
    void expiredNotYetEffectiveAndOtherFeatureGrantsCoverNothing() {
        Grant expired = new Grant("exp", BigDecimal.TEN, "promotional", 1, NOW.minusSeconds(7200), Optional.of(NOW), Optional.empty());
        Grant future = new Grant("fut", BigDecimal.TEN, "promotional", 1, NOW.plusSeconds(1), Optional.empty(), Optional.empty());
        Grant drafts = new Grant("dr", BigDecimal.TEN, "paid", 1, NOW.minusSeconds(1), Optional.empty(), Optional.of("drafts"));
        Split split = Accounting.split(BigDecimal.ONE, BigDecimal.ZERO, List.of(new GrantBalance(expired, BigDecimal.TEN),
                new GrantBalance(future, BigDecimal.TEN), new GrantBalance(drafts, BigDecimal.TEN)), NOW, "chat");
        assertThat(split.grantCovered()).isZero();
        assertThat(split.billed()).isEqualByComparingTo("1");
    }

    @Test
    void aRequestEntitlementThatRunsOutMidEventIncludesTheShareOfTheUnitsStillInside() {
        Entitlement requests = new Entitlement("drafts", Measure.of("requests"), new BigDecimal("100"),
                ResetSchedule.parse("daily"), LimitAction.THROTTLE, Cap.DEFAULT_THRESHOLDS);
        // 99 of 100 used; an event of 4 requests costing $0.40: one request is inside
        BigDecimal included = Accounting.includedPart(Optional.of(requests), new BigDecimal("0.40"), new BigDecimal("4"), new BigDecimal("99"));
        assertThat(included).isEqualByComparingTo("0.10");
    }

    @Property
    void partsAlwaysAddUpToTheCostAndNoneIsNegative(
            @ForAll @IntRange(min = 0, max = 1_000_000) int costMicros,
            @ForAll @IntRange(min = 0, max = 2_000_000) int usedMicros,
            @ForAll @IntRange(min = 0, max = 500_000) int grantMicros,
            @ForAll boolean overageOnly, @ForAll boolean ignoreGrants) {
        BigDecimal cost = BigDecimal.valueOf(costMicros, 6);
        BigDecimal included = Accounting.includedPart(Optional.of(CHAT_10_USD.withIncluded(BigDecimal.ONE)), cost, cost, BigDecimal.valueOf(usedMicros, 6));
        Split split = Accounting.split(cost, included, List.of(new GrantBalance(grant("g", "1", 1, null), BigDecimal.valueOf(grantMicros, 6))), NOW, "chat");

        assertThat(split.included().add(split.grantCovered()).add(split.billed())).isEqualByComparingTo(cost);
        assertThat(List.of(split.included(), split.grantCovered(), split.billed())).allSatisfy(x -> assertThat(x.signum()).isGreaterThanOrEqualTo(0));
        BigDecimal counted = Accounting.counted(cap(overageOnly, ignoreGrants), split, Map.of());
        assertThat(counted.signum()).isGreaterThanOrEqualTo(0);
        assertThat(counted).isLessThanOrEqualTo(cost); // a cap never counts more than the spend
    }
}

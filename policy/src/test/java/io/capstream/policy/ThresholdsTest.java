package io.capstream.policy;

import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.LimitState;
import io.capstream.policy.limit.Thresholds;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

class ThresholdsTest {
    static final List<BigDecimal> T = Cap.DEFAULT_THRESHOLDS;

    static BigDecimal d(String s) {
        return new BigDecimal(s);
    }

    @Test
    void oneEventJumpingSeveralThresholdsCrossesEach() {
        assertThat(Thresholds.newlyCrossed(d("9.5"), d("10"), T, List.of(d("0.8")))).containsExactly(d("0.9"));
        assertThat(Thresholds.newlyCrossed(d("10"), d("10"), T, List.of())).containsExactly(d("0.8"), d("0.9"), d("1"));
        assertThat(Thresholds.newlyCrossed(d("7.99"), d("10"), T, List.of())).isEmpty();
    }

    @Test
    void raisingTheLimitReArmsThresholdsNoLongerReachedAndLoweringCrossesAtOnce() {
        List<BigDecimal> crossed = List.of(d("0.8"), d("0.9"), d("1"));
        assertThat(Thresholds.stillCrossed(d("10"), d("12"), crossed)).containsExactly(d("0.8"));
        assertThat(Thresholds.newlyCrossed(d("10"), d("5"), T, List.of())).containsExactly(d("0.8"), d("0.9"), d("1"));
    }

    @Test
    void stateAndPercent() {
        assertThat(LimitState.of(d("7"), d("10"), T)).isEqualTo(LimitState.OK);
        assertThat(LimitState.of(d("8"), d("10"), T)).isEqualTo(LimitState.WARNING);
        assertThat(LimitState.of(d("10"), d("10"), T)).isEqualTo(LimitState.EXCEEDED);
        assertThat(LimitState.percent(d("9.999"), d("10"))).isEqualByComparingTo("99.9");
        assertThat(LimitState.remaining(d("12"), d("10"))).isZero();
    }
}

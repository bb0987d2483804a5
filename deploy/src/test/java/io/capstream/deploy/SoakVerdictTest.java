package io.capstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Map;
import org.junit.jupiter.api.Test;

class SoakVerdictTest {
    static final long MIB = 1 << 20;
    static final Map<String, long[]> FLAT_LAG = Map.of("g", new long[] {9, 9, 9, 9, 9, 9, 9, 9, 9});

    @Test
    void flatMemoryAndLagWithExactTotalsPass() {
        SoakVerdict v = SoakVerdict.of(Map.of("aggregator", mib(300, 120, 118, 121, 119, 122, 120, 121, 119)),
                Map.of("capstream-aggregator", new long[] {5000, 150, 90, 140, 120, 160, 100, 130, 110}), 1000, true);
        assertThat(v.passed()).isTrue();
        assertThat(v.findings()).contains("totals exact", "aggregator heap after GC flat: 121 MiB → 120 MiB");
    }

    @Test
    void theWarmUpThirdIsNotJudged() {
        assertThat(SoakVerdict.of(Map.of("ingest", mib(900, 900, 900, 40, 40, 40, 40, 40, 40)), FLAT_LAG, 1000, true).passed()).isTrue();
    }

    @Test
    void aHeapThatKeepsGrowingFails() {
        SoakVerdict v = SoakVerdict.of(Map.of("aggregator", mib(100, 120, 140, 160, 180, 200, 220, 240, 260)), FLAT_LAG, 1000, true);
        assertThat(v.passed()).isFalse();
        assertThat(v.findings()).contains("aggregator heap after GC GROWING: 180 MiB → 240 MiB");
    }

    @Test
    void growthWithinTenPercentAndSixteenMibIsNoise() {
        assertThat(SoakVerdict.of(Map.of("a", mib(0, 0, 0, 100, 100, 100, 125, 125, 125)), FLAT_LAG, 1000, true).passed()).isTrue();
        assertThat(SoakVerdict.of(Map.of("a", mib(0, 0, 0, 100, 100, 100, 127, 127, 127)), FLAT_LAG, 1000, true).passed()).isFalse();
    }

    @Test
    void aLagThatDoublesAboveASecondOfTrafficFails() {
        long[] growing = {0, 0, 0, 1500, 2000, 2500, 3000, 4500, 6000};
        assertThat(SoakVerdict.of(Map.of(), Map.of("g", growing), 1000, true).passed()).isFalse();
        long[] small = {0, 0, 0, 10, 20, 30, 300, 600, 900}; // under one second of traffic: noise
        assertThat(SoakVerdict.of(Map.of(), Map.of("g", small), 1000, true).passed()).isTrue();
    }

    @Test
    void totalsNotExactFailWhateverTheCurves() {
        SoakVerdict v = SoakVerdict.of(Map.of("a", mib(50, 50, 50)), Map.of("g", new long[] {0, 0, 0}), 1000, false);
        assertThat(v.passed()).isFalse();
        assertThat(v.findings()).contains("totals NOT exact");
    }

    @Test
    void tooFewSamplesCannotPass() {
        SoakVerdict v = SoakVerdict.of(Map.of("a", mib(50, 50)), FLAT_LAG, 1000, true);
        assertThat(v.passed()).isFalse();
        assertThat(v.findings()).anyMatch(f -> f.startsWith("too few samples"));
    }

    @Test
    void withoutAConsumerGroupLagCannotBeJudged() {
        SoakVerdict v = SoakVerdict.of(Map.of("a", mib(50, 50, 50)), Map.of(), 1000, true);
        assertThat(v.passed()).isFalse();
        assertThat(v.findings()).contains("no consumer group read Capstream's topics: lag cannot be judged");
    }

    private static long[] mib(long... values) {
        long[] bytes = new long[values.length];
        for (int i = 0; i < values.length; i++) {
            bytes[i] = values[i] * MIB;
        }
        return bytes;
    }
}

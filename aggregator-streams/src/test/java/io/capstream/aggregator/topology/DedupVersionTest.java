package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.List;
import org.junit.jupiter.api.Test;

/** What the dedup store keeps per event: where its version in force is, and what it was booked at, read back exactly. */
class DedupVersionTest {
    @Test
    void everyOffsetAndCostReadsBackExactlyAndAVoidOrAnAmendmentIsNoVersion() {
        for (long offset : new long[] {0, 1, 127, 128, 16_383, 16_384, 1L << 35, Long.MAX_VALUE}) {
            for (BigDecimal cost : List.of(BigDecimal.ZERO, new BigDecimal("0.0025"), new BigDecimal("99999999999999999999.999999999999999999"),
                    new BigDecimal("1E+3"), new BigDecimal("12.500000000000000000"))) {
                DedupProcessor.Version v = new DedupProcessor.Version(offset, cost);
                DedupProcessor.Version back = DedupProcessor.Version.of(v.bytes());
                assertThat(back.offset()).as("offset").isEqualTo(offset);
                assertThat(back.cost()).as("cost").isEqualTo(cost); // same scale too, as booked
            }
        }
        assertThat(new DedupProcessor.Version(300_000_000L, new BigDecimal("0.0025")).bytes()).hasSize(7); // 5 + 1 + 1
        assertThat(DedupProcessor.Version.of(DedupProcessor.Version.VOIDED)).isNull();
        assertThat(DedupProcessor.Version.of(DedupProcessor.PRESENT)).isNull();
    }

    @Test
    void twoVersionsWhoseUserAndKeyOnlyShiftABarBetweenThemAreNotTheSame() {
        java.time.Instant t = java.time.Instant.parse("2026-11-10T15:00:00Z");
        io.capstream.schemas.UsageEvent a = TopologyFixture.event("a", "acme", "chat", null, t, java.util.Map.of("requests", 1L));
        io.capstream.schemas.UsageEvent b = TopologyFixture.event("a", "acme", "chat", null, t, java.util.Map.of("requests", 1L));
        a.setUser("a|b");
        a.setApiKey("c");
        b.setUser("a");
        b.setApiKey("b|c");
        assertThat(DedupProcessor.sameContent(a, b)).isFalse();
        b.setUser("a|b");
        b.setApiKey("c");
        assertThat(DedupProcessor.sameContent(a, b)).isTrue();
    }
}

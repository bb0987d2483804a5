package io.capstream.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capstream.aggregator.topology.SeriesBook;
import io.capstream.policy.booking.Series;
import io.capstream.policy.booking.Series.Combination;
import io.capstream.policy.booking.Series.Granularity;
import io.capstream.policy.limit.Period;
import io.capstream.runtime.ApiException;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageBucket;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;

class SeriesReportTest {
    static final ZoneId NEW_YORK = ZoneId.of("America/New_York");

    static SeriesBook.Stored stored(Combination c, Granularity g, Instant t, String cost, long events) {
        Period p = g.bucketAt(t, NEW_YORK);
        BigDecimal money = new BigDecimal(cost).setScale(18);
        return new SeriesBook.Stored(c, p, new UsageBucket(p.end(), NEW_YORK.getId(),
                List.of(new Quantity("requests", null, BigDecimal.valueOf(events).setScale(9))), money, money, BigDecimal.ZERO.setScale(18),
                BigDecimal.ZERO.setScale(18), events));
    }

    @Test
    void everyBucketOfTheSpanIsListedGroupsAddUpAndCsvHasOneLinePerBucketAndGroup() {
        Instant from = Instant.parse("2026-11-01T04:00:00Z");
        Instant to = Instant.parse("2026-11-03T05:00:00Z");
        List<SeriesBook.Stored> stored = List.of(
                stored(Combination.of("chat", "gpt-4o", "k1", "ann"), Granularity.DAY, Instant.parse("2026-11-01T12:00:00Z"), "1.5", 2),
                stored(Combination.of("chat", "gpt-4o-mini", "k2", null), Granularity.DAY, Instant.parse("2026-11-01T13:00:00Z"), "0.25", 1),
                stored(Combination.of("search", null, "k1", "ann"), Granularity.DAY, Instant.parse("2026-11-01T14:00:00Z"), "2", 1));
        SeriesReport report = SeriesReport.build("acme", NEW_YORK, Granularity.DAY, "model", from, to,
                Series.buckets(from, to, NEW_YORK, Granularity.DAY), stored, Instant.parse("2026-11-03T00:00:00Z"));

        assertThat(report.buckets()).hasSize(2);
        assertThat(report.buckets().get(0).end().toString()).isEqualTo("2026-11-02T00:00-05:00"); // 25 hours
        assertThat(report.buckets().get(0).groups()).extracting(SeriesReport.GroupView::group).containsExactly("(none)", "gpt-4o", "gpt-4o-mini");
        assertThat(report.buckets().get(0).total().cost()).isEqualTo("3.75");
        assertThat(report.buckets().get(1).groups()).isEmpty();
        assertThat(report.total().events()).isEqualTo(4);
        assertThat(report.total().quantities()).containsEntry("requests", "4");
        assertThat(report.csv()).isEqualTo("""
                bucket_start,bucket_end,model,cost,included,grant_covered,billed,events
                2026-11-01T00:00:00-04:00,2026-11-02T00:00:00-05:00,(none),2.00,2.00,0.00,0.00,1
                2026-11-01T00:00:00-04:00,2026-11-02T00:00:00-05:00,gpt-4o,1.50,1.50,0.00,0.00,2
                2026-11-01T00:00:00-04:00,2026-11-02T00:00:00-05:00,gpt-4o-mini,0.25,0.25,0.00,0.00,1
                2026-11-02T00:00:00-05:00,2026-11-03T00:00:00-05:00,,0.00,0.00,0.00,0.00,0
                """);
    }

    @Test
    void aUserOrKeyInTheCsvIsOneCellAndNeverAFormula() {
        Instant from = Instant.parse("2026-11-01T04:00:00Z");
        Instant to = Instant.parse("2026-11-02T05:00:00Z");
        Instant t = Instant.parse("2026-11-01T12:00:00Z");
        List<SeriesBook.Stored> stored = List.of(
                stored(Combination.of("chat", null, "k1", "=HYPERLINK(\"https://evil.example\",\"x\")"), Granularity.DAY, t, "1", 1),
                stored(Combination.of("chat", null, "k1", "doe, jane"), Granularity.DAY, t, "2", 1),
                stored(Combination.of("chat", null, "k1", "two\nlines"), Granularity.DAY, t, "3", 1),
                stored(Combination.of("chat", null, "k1", "-1+2"), Granularity.DAY, t, "4", 1),
                stored(Combination.of("chat", null, "k1", "ann"), Granularity.DAY, t, "5", 1));
        String csv = SeriesReport.build("acme", NEW_YORK, Granularity.DAY, "user", from, to, Series.buckets(from, to, NEW_YORK, Granularity.DAY),
                stored, to).csv();

        assertThat(csv).contains(",\"'=HYPERLINK(\"\"https://evil.example\"\",\"\"x\"\")\",1.00,",
                ",\"doe, jane\",2.00,", ",\"two\nlines\",3.00,", ",'-1+2,4.00,", ",ann,5.00,");
    }

    @Test
    void aBucketCutInAFormerTimezoneCountsInTheBucketThatHoldsItsStart() {
        Instant from = Instant.parse("2026-11-10T05:00:00Z");
        Instant to = Instant.parse("2026-11-11T05:00:00Z");
        // booked while the customer was in Los Angeles: that day started at 08:00Z
        Period la = Granularity.DAY.bucketAt(Instant.parse("2026-11-10T12:00:00Z"), ZoneId.of("America/Los_Angeles"));
        BigDecimal one = BigDecimal.ONE.setScale(18);
        SeriesBook.Stored old = new SeriesBook.Stored(Combination.of("chat", null, null, null), la,
                new UsageBucket(la.end(), "America/Los_Angeles", List.of(), one, one, BigDecimal.ZERO.setScale(18), BigDecimal.ZERO.setScale(18), 1L));
        SeriesReport report = SeriesReport.build("acme", NEW_YORK, Granularity.DAY, null, from, to,
                Series.buckets(from, to, NEW_YORK, Granularity.DAY), List.of(old), to);
        assertThat(report.buckets()).singleElement().satisfies(b -> assertThat(b.total().cost()).isEqualTo("1.00"));
        assertThat(report.total().cost()).isEqualTo("1.00");
    }

    @Test
    void aFoldReadsAtMostItsBoundOfStoredBucketsAndRefusesTheNextNamingTo() {
        Instant from = Instant.parse("2026-11-01T04:00:00Z");
        Instant to = Instant.parse("2026-11-02T05:00:00Z");
        SeriesReport.Fold fold = new SeriesReport.Fold(NEW_YORK, Granularity.HOUR, "user", Series.buckets(from, to, NEW_YORK, Granularity.HOUR), 3);
        for (String user : List.of("ann", "bob", "cy")) {
            fold.accept(stored(Combination.of("chat", null, "k1", user), Granularity.HOUR, Instant.parse("2026-11-01T12:00:00Z"), "1", 1));
        }
        assertThat(fold.read()).isEqualTo(3);
        assertThatThrownBy(() -> fold.accept(stored(Combination.of("chat", null, "k1", "dee"), Granularity.HOUR,
                Instant.parse("2026-11-01T12:00:00Z"), "1", 1)))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(400);
                    assertThat(e.details().get("errors")).asList().singleElement().satisfies(p -> {
                        assertThat(((java.util.Map<?, ?>) p).get("field")).isEqualTo("to");
                        assertThat((String) ((java.util.Map<?, ?>) p).get("message")).contains("more than 3 stored buckets").contains("shorter span");
                    });
                });
        // what it folded before the bound is the answer's: the three users of the one hour
        SeriesReport report = fold.report("acme", from, to, to);
        assertThat(report.total().cost()).isEqualTo("3.00");
        assertThat(report.buckets().stream().filter(b -> !b.groups().isEmpty()).toList())
                .singleElement().satisfies(b -> assertThat(b.groups()).extracting(SeriesReport.GroupView::group).containsExactly("ann", "bob", "cy"));
    }
}

package io.capstream.aggregator.topology;

import static io.capstream.aggregator.topology.TopologyFixture.event;
import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.Series;
import io.capstream.policy.booking.Series.Combination;
import io.capstream.policy.booking.Series.Granularity;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.customer.Grant;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.UsageBucket;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;
import org.junit.jupiter.api.Test;

/** Usage series through the production topology: local days and hours across a DST change, sums equal to the running totals, retention, the bound. */
class SeriesTopologyTest {
    static final ZoneId NEW_YORK = ZoneId.of("America/New_York");
    /** November 2026 in New York: the billing period starts at local midnight on the 1st, the day the clocks go back (25 hours). */
    static final Instant PERIOD_START = Instant.parse("2026-11-01T04:00:00Z");
    static final Instant PERIOD_END = Instant.parse("2026-12-01T05:00:00Z");

    static Customer acme() {
        return new Customer("acme", "pro", NEW_YORK, 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE, List.of(),
                List.of(new Grant("promo", new BigDecimal("3"), "promotional", 1, PERIOD_START, Optional.empty(), Optional.empty())));
    }

    static UsageEvent withKey(UsageEvent e, String apiKey, String user) {
        e.setApiKey(apiKey);
        e.setUser(user);
        return e;
    }

    @Test
    void dailyAndHourlyBucketsInTheCustomersTimezoneAddUpToTheRunningTotalsAcrossAFallBack() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) {
            f.configure(acme(), PERIOD_START);
            // $1 a request; chat includes $10, then the $3 grant, then billed
            List<UsageEvent> events = List.of(
                    withKey(event("a", "acme", "chat", null, Instant.parse("2026-11-01T05:30:00Z"), Map.of("requests", 4L)), "key_1", "ann"), // 01:30 EDT
                    withKey(event("b", "acme", "chat", null, Instant.parse("2026-11-01T06:30:00Z"), Map.of("requests", 5L)), "key_2", "bob"), // 01:30 EST
                    withKey(event("c", "acme", "search", null, Instant.parse("2026-11-02T04:30:00Z"), Map.of("requests", 2L)), "key_1", "ann"), // 23:30 Nov 1
                    withKey(event("d", "acme", "chat", "gpt-4o", Instant.parse("2026-11-02T05:30:00Z"),
                            Map.of("requests", 3L, "input_tokens", 400_000L)), "key_1", null), // 00:30 Nov 2: $3 + $1
                    withKey(event("e", "acme", "chat", null, Instant.parse("2026-11-20T15:00:00Z"), Map.of("requests", 2L)), "key_2", "bob"));
            for (UsageEvent e : events) {
                f.send(e, e.getTime().plusSeconds(5));
                if (e.getId().equals("b")) {
                    f.send(events.get(0), e.getTime().plusSeconds(6)); // a retry of a: counts nowhere
                }
            }

            var days = f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END);
            // Nov 1 is one bucket of 25 hours holding a, b and c
            assertThat(days).filteredOn(kv -> kv.bucket().start().equals(PERIOD_START)).allSatisfy(kv ->
                    assertThat(kv.bucket().end()).isEqualTo(Instant.parse("2026-11-02T05:00:00Z")));
            assertThat(sum(days.stream().filter(kv -> kv.bucket().start().equals(PERIOD_START)).toList(), UsageBucket::getCost))
                    .isEqualByComparingTo("11");
            // the repeated hour 01:00–02:00 is two hourly buckets
            var hours = f.series(Granularity.HOUR, "acme", PERIOD_START, PERIOD_END);
            assertThat(hours).filteredOn(kv -> kv.combination().feature().equals("chat") && kv.bucket().start()
                    .equals(Instant.parse("2026-11-01T05:00:00Z"))).extracting(kv -> kv.usage().getCost()).containsExactly(new BigDecimal("4.000000000000000000"));
            assertThat(hours).filteredOn(kv -> kv.bucket().start().equals(Instant.parse("2026-11-01T06:00:00Z")))
                    .extracting(kv -> kv.combination()).containsExactly(Combination.of("chat", null, "key_2", "bob"));

            // the buckets of the billing period add up to the features' running totals, split and all
            LimitUsage chat = f.limit("acme", "feature:chat", PERIOD_START);
            LimitUsage search = f.limit("acme", "feature:search", PERIOD_START);
            for (var series : List.of(days, hours)) {
                assertThat(sum(series, UsageBucket::getCost)).isEqualByComparingTo(chat.getCost().add(search.getCost())).isEqualByComparingTo("17");
                assertThat(sum(series, UsageBucket::getIncluded)).isEqualByComparingTo(chat.getIncluded().add(search.getIncluded()));
                assertThat(sum(series, UsageBucket::getGrantCovered)).isEqualByComparingTo(chat.getGrantCovered().add(search.getGrantCovered()));
                assertThat(sum(series, UsageBucket::getBilled)).isEqualByComparingTo(chat.getBilled().add(search.getBilled()));
                assertThat(series.stream().mapToLong(kv -> kv.usage().getEvents()).sum()).isEqualTo(5);
                assertThat(sum(series.stream().filter(kv -> kv.combination().feature().equals("chat")).toList(), UsageBucket::getCost))
                        .isEqualByComparingTo(chat.getCost());
            }
            assertThat(chat.getIncluded()).isEqualByComparingTo("10");
            assertThat(chat.getGrantCovered().add(search.getGrantCovered())).isEqualByComparingTo("3");
        }
    }

    @Test
    void bucketsOlderThanTheRetentionAreDroppedAfterTheirDayWasRolledUp() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY,
                new UsageTopology.SeriesRetention(Duration.ofDays(3), Duration.ofDays(6)),
                // reads straight from RocksDB: the record cache may still hold an expired bucket until it is evicted (the API clamps `from`)
                Map.of(org.apache.kafka.streams.StreamsConfig.STATESTORE_CACHE_MAX_BYTES_CONFIG, 0L))) {
            f.configure(acme(), PERIOD_START);
            Instant early = Instant.parse("2026-11-03T15:00:00Z");
            f.send(event("old", "acme", "chat", null, early, Map.of("requests", 1L)), early);
            assertThat(f.series(Granularity.HOUR, "acme", PERIOD_START, PERIOD_END)).hasSize(1);
            assertThat(f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END)).hasSize(1);
            f.driver.advanceWallClockTime(Duration.ofDays(4)); // Nov 5: Nov 3 (New York) has ended and is rolled up

            Instant later = early.plus(Duration.ofDays(6));
            f.send(event("new", "acme", "chat", null, later, Map.of("requests", 1L)), later);
            assertThat(f.series(Granularity.HOUR, "acme", PERIOD_START, PERIOD_END)).extracting(kv -> kv.bucket().start())
                    .containsExactly(Instant.parse("2026-11-09T15:00:00Z"));
            assertThat(f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END)).extracting(kv -> kv.bucket().start())
                    .containsExactlyInAnyOrder(Instant.parse("2026-11-03T05:00:00Z"), Instant.parse("2026-11-09T05:00:00Z"));

            // days go after their own retention (kept at least 6 days, dropped by 9 after the latest rolled-up day)
            Instant muchLater = early.plus(Duration.ofDays(13));
            f.send(event("newer", "acme", "chat", null, muchLater, Map.of("requests", 1L)), muchLater);
            f.driver.advanceWallClockTime(Duration.ofDays(13)); // Nov 18: Nov 9 and Nov 16 are rolled up (the daily store's time moves on)
            assertThat(f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END)).extracting(kv -> kv.bucket().start())
                    .doesNotContain(Instant.parse("2026-11-03T05:00:00Z")).contains(Instant.parse("2026-11-16T05:00:00Z"));
        }
    }

    @Test
    void aDayIsRolledUpFromItsHoursOnceItHasEndedAndAnEventLaterThanThatStillCountsInIt() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) {
            f.configure(acme(), PERIOD_START);
            Instant nov10 = Instant.parse("2026-11-10T05:00:00Z"); // local midnight in New York
            Instant nov11 = Instant.parse("2026-11-11T05:00:00Z");
            Instant nov12 = Instant.parse("2026-11-12T05:00:00Z");
            f.send(withKey(event("a", "acme", "chat", null, Instant.parse("2026-11-10T14:00:00Z"), Map.of("requests", 2L)), "key_1", "ann"),
                    Instant.parse("2026-11-10T14:00:01Z"));
            f.send(withKey(event("b", "acme", "chat", null, Instant.parse("2026-11-10T16:00:00Z"), Map.of("requests", 3L)), "key_1", "ann"),
                    Instant.parse("2026-11-10T16:00:01Z"));
            f.send(withKey(event("c", "acme", "search", null, Instant.parse("2026-11-11T04:30:00Z"), Map.of("requests", 1L)), "key_2", "bob"),
                    Instant.parse("2026-11-11T04:30:01Z"));
            f.send(withKey(event("d", "acme", "chat", null, Instant.parse("2026-11-11T15:00:00Z"), Map.of("requests", 4L)), "key_1", "ann"),
                    Instant.parse("2026-11-11T15:00:01Z"));
            var fromHours = f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END);
            assertThat(f.rolledUpDays("acme", PERIOD_START, PERIOD_END)).isEmpty();
            assertThat(days(fromHours)).containsExactlyInAnyOrder("2026-11-10T05:00:00Z chat||key_1|ann 5 2", "2026-11-10T05:00:00Z search||key_2|bob 1 1",
                    "2026-11-11T05:00:00Z chat||key_1|ann 4 1");

            // 1 hour after Nov 10 ended in New York: it is rolled up, Nov 11 is not, and the days read the same
            f.driver.advanceWallClockTime(Duration.between(Instant.parse("2026-11-01T00:00:00Z"), nov11.plus(Duration.ofMinutes(65))));
            assertThat(days(f.rolledUpDays("acme", PERIOD_START, PERIOD_END))).containsExactlyInAnyOrder(
                    "2026-11-10T05:00:00Z chat||key_1|ann 5 2", "2026-11-10T05:00:00Z search||key_2|bob 1 1");
            assertThat(days(f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END))).isEqualTo(days(fromHours));
            assertThat(f.driver.<String, SeriesBook.Rollup>getKeyValueStore(UsageTopology.SERIES_ROLLUPS_STORE).get("acme"))
                    .isEqualTo(new SeriesBook.Rollup(nov11.toEpochMilli(), Instant.parse("2026-11-11T15:00:00Z").toEpochMilli()));

            // an event for Nov 10 that comes after its rollup counts in its hour and in its day at once
            f.send(withKey(event("e", "acme", "chat", null, Instant.parse("2026-11-10T20:00:00Z"), Map.of("requests", 6L)), "key_1", "ann"),
                    Instant.parse("2026-11-11T16:00:00Z"));
            assertThat(days(f.rolledUpDays("acme", PERIOD_START, PERIOD_END))).contains("2026-11-10T05:00:00Z chat||key_1|ann 11 3");
            var rolledAndHours = f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END);
            assertThat(days(rolledAndHours)).containsExactlyInAnyOrder("2026-11-10T05:00:00Z chat||key_1|ann 11 3",
                    "2026-11-10T05:00:00Z search||key_2|bob 1 1", "2026-11-11T05:00:00Z chat||key_1|ann 4 1");
            assertThat(sum(rolledAndHours, UsageBucket::getCost)).isEqualByComparingTo(sum(f.series(Granularity.HOUR, "acme", PERIOD_START, PERIOD_END),
                    UsageBucket::getCost)).isEqualByComparingTo("16");

            // and once Nov 11 has ended too, nothing is left to roll up
            f.driver.advanceWallClockTime(Duration.ofDays(1));
            assertThat(days(f.rolledUpDays("acme", PERIOD_START, PERIOD_END))).containsExactlyInAnyOrderElementsOf(days(rolledAndHours));
            assertThat(f.driver.<String, SeriesBook.Rollup>getKeyValueStore(UsageTopology.SERIES_ROLLUPS_STORE).get("acme"))
                    .isEqualTo(new SeriesBook.Rollup(nov12.toEpochMilli(), -1));
            assertThat(days(f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END))).isEqualTo(days(rolledAndHours));
        }
    }

    /** Each day as "start combination cost events". */
    static List<String> days(List<SeriesBook.Stored> days) {
        return days.stream().map(d -> d.bucket().start() + " " + d.combination().key() + " " + d.usage().getCost().stripTrailingZeros().toPlainString()
                + " " + d.usage().getEvents()).sorted().toList();
    }

    @Test
    void aBucketKeepsAtMostItsBoundOfCombinationsAndTheRestStillCounts() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) {
            f.configure(acme(), PERIOD_START);
            Instant t = Instant.parse("2026-11-10T15:00:00Z");
            int max = Series.MAX_COMBINATIONS;
            // 150 keys on chat: 100 kept, the rest folded into chat with key and user (other)
            for (int i = 0; i < max + 50; i++) {
                f.send(withKey(event("k" + i, "acme", "chat", null, t, Map.of("requests", 1L)), "key_" + i, "u" + i), t.plusSeconds(1));
            }
            // then 150 features: 99 folded each into its own feature, then the bucket is full and the rest is all (other)
            for (int i = 0; i < max + 50; i++) {
                f.send(event("f" + i, "acme", "feature_" + i, null, t, Map.of("requests", 1L)), t.plusSeconds(1));
            }
            var hour = f.series(Granularity.HOUR, "acme", t, t.plus(Duration.ofHours(1)));
            assertThat(hour).hasSize(2 * max + 1);
            assertThat(hour).filteredOn(kv -> kv.combination().equals(new Combination("chat", "", Series.OTHER, Series.OTHER)))
                    .singleElement().satisfies(kv -> assertThat(kv.usage().getEvents()).isEqualTo(50));
            assertThat(hour).filteredOn(kv -> kv.combination().equals(Combination.ALL_OTHER))
                    .singleElement().satisfies(kv -> assertThat(kv.usage().getEvents()).isEqualTo(51));
            assertThat(sum(hour, UsageBucket::getCost)).isEqualByComparingTo(BigDecimal.valueOf(2L * (max + 50)));
            assertThat(hour.stream().mapToLong(kv -> kv.usage().getEvents()).sum()).isEqualTo(2L * (max + 50));
        }
    }

    @Test
    void anApiKeyOrUserHoldingTheKeySeparatorCountsUnderItsOwnNameAndItsDayRollsUp() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) {
            f.configure(acme(), PERIOD_START);
            Instant t = Instant.parse("2026-11-10T15:00:00Z");
            f.send(withKey(event("a", "acme", "chat", null, t, Map.of("requests", 2L)), "k|1", "a|b|c"), t.plusSeconds(1));
            f.send(withKey(event("b", "acme", "chat", null, t, Map.of("requests", 3L)), "k", "1|a|b|c"), t.plusSeconds(1));
            f.send(withKey(event("c", "acme", "chat", null, t, Map.of("requests", 4L)), "50%", "%7C"), t.plusSeconds(1));

            var hour = f.series(Granularity.HOUR, "acme", t, t.plus(Duration.ofHours(1)));
            assertThat(hour).extracting(SeriesBook.Stored::combination).containsExactlyInAnyOrder(
                    Combination.of("chat", null, "k|1", "a|b|c"), Combination.of("chat", null, "k", "1|a|b|c"), Combination.of("chat", null, "50%", "%7C"));
            // the day is rolled up from those hours an hour after it ended, and reads the same
            f.driver.advanceWallClockTime(Duration.between(Instant.parse("2026-11-01T00:00:00Z"), Instant.parse("2026-11-11T06:05:00Z")));
            assertThat(f.rolledUpDays("acme", PERIOD_START, PERIOD_END)).extracting(SeriesBook.Stored::combination)
                    .containsExactlyInAnyOrderElementsOf(hour.stream().map(SeriesBook.Stored::combination).toList());
            assertThat(sum(f.rolledUpDays("acme", PERIOD_START, PERIOD_END), UsageBucket::getCost)).isEqualByComparingTo("9");
        }
    }

    static BigDecimal sum(List<SeriesBook.Stored> series, Function<UsageBucket, BigDecimal> amount) {
        return series.stream().map(kv -> amount.apply(kv.usage())).reduce(BigDecimal.ZERO, BigDecimal::add);
    }

    @Test
    void aDeploymentWithoutSeriesBooksTheSameTotalsAndKeepsNoSeriesStores() {
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY, UsageTopology.SeriesRetention.OFF)) {
            f.configure(acme(), PERIOD_START);
            Instant t = Instant.parse("2026-11-10T15:00:00Z");
            f.send(event("a", "acme", "chat", null, t, Map.of("requests", 3L)), t);
            assertThat(f.limit("acme", "feature:chat", PERIOD_START).getCost()).isEqualByComparingTo("3");
            assertThat(f.driver.getAllStateStores()).doesNotContainKeys(UsageTopology.SERIES_HOURLY_STORE, UsageTopology.SERIES_DAILY_STORE);
        }
    }
}

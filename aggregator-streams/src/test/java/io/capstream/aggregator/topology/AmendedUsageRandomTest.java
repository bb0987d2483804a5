package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.booking.Series.Granularity;
import io.capstream.policy.customer.Customer;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageBucket;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.TreeMap;
import org.junit.jupiter.api.Test;

/**
 * Random events, retries, voids, replacements (to another feature, model, hour or day) and adjustments through the production
 * topology, with a new seed each run (printed; {@code -Dseed=N} repeats one): whatever was amended, and whether its day was rolled
 * up yet, the feature totals hold exactly the events in force, and every hour and day of the usage series exactly its share.
 */
class AmendedUsageRandomTest {
    static final ZoneId KOLKATA = ZoneId.of("Asia/Kolkata");
    /** November in Kolkata, the customer's billing period. */
    static final Instant PERIOD_START = Instant.parse("2026-10-31T18:30:00Z");
    static final Instant PERIOD_END = Instant.parse("2026-11-30T18:30:00Z");
    static final BigDecimal TOKEN_PRICE = new BigDecimal("2.50").movePointLeft(6);
    static final List<String> FEATURES = List.of("chat", "search");

    @Test
    void theTotalsAndEveryHourAndDayOfTheSeriesHoldExactlyTheEventsInForce() {
        long seed = Long.getLong("seed", new Random().nextLong());
        System.out.println("AmendedUsageRandomTest seed " + seed + " (repeat with -Dseed=" + seed + ")");
        Random rnd = new Random(seed);
        Customer acme = new Customer("acme", "pro", KOLKATA, 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE,
                List.of(LimitsTopologyTest.cap("all", "100000", false, false)), List.of(LimitsTopologyTest.PROMO));
        try (TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY)) {
            Instant received = LimitsTopologyTest.T0;
            Instant wallClock = Instant.parse("2026-11-01T00:00:00Z"); // the fixture's
            f.configure(acme, received);
            Map<String, UsageEvent> inForce = new LinkedHashMap<>();
            List<UsageEvent> sentOnce = new ArrayList<>();
            for (int step = 0; step < 300; step++) {
                received = received.plusSeconds(60 + rnd.nextInt(360)); // about 20 hours in all
                if (step % 50 == 49) { // the wall clock catches up: the days that ended an hour before are rolled up
                    f.driver.advanceWallClockTime(Duration.between(wallClock, received));
                    wallClock = received;
                }
                Instant at = received;
                List<UsageEvent> amendable = inForce.values().stream()
                        .filter(e -> e.getTime().isAfter(at.minus(Duration.ofHours(20)))).toList();
                double r = rnd.nextDouble();
                if (r < 0.55 || amendable.isEmpty()) {
                    UsageEvent e = random("e" + step, received, rnd);
                    f.send(e, received);
                    inForce.put(e.getId(), e);
                    sentOnce.add(e);
                } else if (r < 0.65) { // a retry of an event sent before (voided, replaced or not): counted once
                    f.send(sentOnce.get(rnd.nextInt(sentOnce.size())), received);
                } else if (r < 0.75) {
                    UsageEvent e = amendable.get(rnd.nextInt(amendable.size()));
                    f.send(UsageEvent.newBuilder().setId(e.getId()).setSource("svc").setCustomer("acme").setFeature("").setTime(received)
                            .setUsage(List.of()).setAmendment("void").setReason("double-reported").build(), received);
                    inForce.remove(e.getId());
                } else if (r < 0.95) {
                    UsageEvent e = amendable.get(rnd.nextInt(amendable.size()));
                    UsageEvent replacement = random(e.getId(), received, rnd);
                    f.send(UsageEvent.newBuilder(replacement).setAmendment("replace").setReason("recount").build(), received);
                    inForce.put(e.getId(), replacement);
                } else if (requests(inForce.values(), "chat").compareTo(BigDecimal.TWO) >= 0) { // $1 of chat taken back
                    UsageEvent credit = UsageEvent.newBuilder().setId("credit" + step).setSource("svc").setCustomer("acme").setFeature("chat")
                            .setTime(received).setReason("outage credit").setUsage(List.of(new Quantity("requests", null, new BigDecimal("-1.000000000"))))
                            .build();
                    f.send(credit, received);
                    inForce.put(credit.getId(), credit);
                }
            }

            assertThat(f.dlq.readRecordsToList()).as("dead letters").extracting(d -> new String(d.headers().lastHeader(DeadLetterHandler.REASON).value(),
                    StandardCharsets.UTF_8)).isEmpty();
            BigDecimal all = BigDecimal.ZERO;
            BigDecimal grants = BigDecimal.ZERO;
            List<SeriesBook.Stored> hours = f.series(Granularity.HOUR, "acme", PERIOD_START, PERIOD_END);
            List<SeriesBook.Stored> days = f.series(Granularity.DAY, "acme", PERIOD_START, PERIOD_END);
            assertThat(f.rolledUpDays("acme", PERIOD_START, PERIOD_END)).as("a day rolled up").isNotEmpty();
            for (String feature : FEATURES) {
                List<UsageEvent> events = inForce.values().stream().filter(e -> e.getFeature().equals(feature)).toList();
                LimitUsage total = f.limit("acme", "feature:" + feature, PERIOD_START);
                BigDecimal cost = events.stream().map(AmendedUsageRandomTest::cost).reduce(BigDecimal.ZERO, BigDecimal::add);
                assertThat(total.getCost()).as(feature + " cost").isEqualByComparingTo(cost);
                assertThat(total.getEvents()).as(feature + " events").isEqualTo(events.size());
                assertThat(total.getIncluded().add(total.getGrantCovered()).add(total.getBilled())).isEqualByComparingTo(cost);
                all = all.add(cost);
                grants = grants.add(total.getGrantCovered());
                for (List<SeriesBook.Stored> buckets : List.of(hours, days)) {
                    List<UsageBucket> of = buckets.stream().filter(b -> b.combination().feature().equals(feature)).map(SeriesBook.Stored::usage).toList();
                    assertThat(of.stream().map(UsageBucket::getCost).reduce(BigDecimal.ZERO, BigDecimal::add)).isEqualByComparingTo(total.getCost());
                    assertThat(of.stream().map(UsageBucket::getIncluded).reduce(BigDecimal.ZERO, BigDecimal::add)).isEqualByComparingTo(total.getIncluded());
                    assertThat(of.stream().map(UsageBucket::getGrantCovered).reduce(BigDecimal.ZERO, BigDecimal::add))
                            .isEqualByComparingTo(total.getGrantCovered());
                    assertThat(of.stream().map(UsageBucket::getBilled).reduce(BigDecimal.ZERO, BigDecimal::add)).isEqualByComparingTo(total.getBilled());
                    assertThat(of.stream().mapToLong(UsageBucket::getEvents).sum()).isEqualTo(total.getEvents());
                }
                // every hour holds exactly its events' cost and count
                Map<Instant, BigDecimal> costByHour = new TreeMap<>();
                Map<Instant, Long> eventsByHour = new TreeMap<>();
                for (UsageEvent e : events) {
                    Instant hour = e.getTime().atZone(KOLKATA).truncatedTo(ChronoUnit.HOURS).toInstant();
                    costByHour.merge(hour, cost(e), BigDecimal::add);
                    eventsByHour.merge(hour, 1L, Long::sum);
                }
                Map<Instant, BigDecimal> seriesCost = new TreeMap<>();
                Map<Instant, Long> seriesEvents = new TreeMap<>();
                hours.stream().filter(b -> b.combination().feature().equals(feature)).forEach(b -> {
                    seriesCost.merge(b.bucket().start(), b.usage().getCost(), BigDecimal::add);
                    seriesEvents.merge(b.bucket().start(), b.usage().getEvents(), Long::sum);
                });
                seriesCost.replaceAll((h, c) -> c.stripTrailingZeros());
                costByHour.replaceAll((h, c) -> c.stripTrailingZeros());
                seriesCost.entrySet().removeIf(e -> e.getValue().signum() == 0 && !costByHour.containsKey(e.getKey()));
                seriesEvents.entrySet().removeIf(e -> e.getValue() == 0 && !eventsByHour.containsKey(e.getKey()));
                assertThat(seriesCost).as(feature + " cost by hour").isEqualTo(costByHour);
                assertThat(seriesEvents).as(feature + " events by hour").isEqualTo(eventsByHour);
            }
            assertThat(f.limit("acme", "cap:all", PERIOD_START).getUsed()).isEqualByComparingTo(all);
            assertThat(f.limit("acme", "grant:promo", LimitsTopologyTest.NOV_1).getUsed()).isEqualByComparingTo(grants);
        }
    }

    /** An event of chat or search, with or without gpt-4o, by one of a few keys and users, some hours before it is received. */
    static UsageEvent random(String id, Instant received, Random rnd) {
        boolean model = rnd.nextBoolean();
        List<Quantity> usage = new ArrayList<>();
        usage.add(new Quantity("requests", null, BigDecimal.valueOf(rnd.nextLong(4_000_000_000L), 9)));
        if (model) {
            usage.add(new Quantity("input_tokens", null, BigDecimal.valueOf(rnd.nextInt(400_000)).setScale(9)));
        }
        return UsageEvent.newBuilder().setId(id).setSource("svc").setCustomer("acme").setFeature(FEATURES.get(rnd.nextInt(FEATURES.size())))
                .setModel(model ? "gpt-4o" : null).setApiKey(rnd.nextBoolean() ? "key_" + rnd.nextInt(3) : null)
                .setUser(rnd.nextBoolean() ? "user_" + rnd.nextInt(3) : null)
                .setTime(received.minusMillis(rnd.nextLong(Duration.ofHours(6).toMillis()))).setUsage(usage).build();
    }

    /** $1 a request, $2.50 per million input tokens of gpt-4o. */
    static BigDecimal cost(UsageEvent e) {
        BigDecimal cost = BigDecimal.ZERO;
        for (Quantity q : e.getUsage()) {
            cost = cost.add(q.getMeter().equals("requests") ? q.getQuantity() : q.getQuantity().multiply(TOKEN_PRICE));
        }
        return cost;
    }

    static BigDecimal requests(java.util.Collection<UsageEvent> events, String feature) {
        return events.stream().filter(e -> e.getFeature().equals(feature)).flatMap(e -> e.getUsage().stream())
                .filter(q -> q.getMeter().equals("requests")).map(Quantity::getQuantity).reduce(BigDecimal.ZERO, BigDecimal::add);
    }
}

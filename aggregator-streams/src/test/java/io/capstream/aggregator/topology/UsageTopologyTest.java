package io.capstream.aggregator.topology;

import static io.capstream.aggregator.topology.TopologyFixture.event;
import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The production topology ({@link UsageTopology#build}) on the TopologyTestDriver. */
class UsageTopologyTest {
    static final String POLICY = """
            models:
              gpt-4o: {prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
              gpt-4o-mini: {prices: {input_tokens: "0.15/1M", output_tokens: "0.60/1M"}}
            meters:
              requests: {price: "0.001"}
            """;
    static final Instant NOV = Instant.parse("2026-11-21T10:00:00Z");

    final TopologyFixture f = new TopologyFixture(POLICY);

    @AfterEach
    void stop() {
        f.close();
    }

    void send(UsageEvent e) {
        f.send(e, NOV);
    }

    LimitUsage total(String customer, String feature, Instant periodStart) {
        return f.limit(customer, io.capstream.policy.limit.LimitIds.feature(feature), periodStart);
    }

    @Test
    void sumsCostAndQuantitiesPerMeterAndModelExactly() {
        // given / when
        send(event("1", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 1200L, "output_tokens", 350L)));
        send(event("2", "cus_a", "chat", "gpt-4o-mini", NOV, Map.of("input_tokens", 1L)));
        send(event("3", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 800L)));
        send(event("4", "cus_a", "drafts", null, NOV, Map.of("requests", 2L)));

        // then: 0.003 + 0.0035 + 0.00000015 + 0.002 on chat; 0.002 on drafts
        LimitUsage chat = total("cus_a", "chat", Instant.parse("2026-11-01T00:00:00Z"));
        assertThat(chat.getCost()).isEqualByComparingTo("0.00850015");
        assertThat(chat.getEvents()).isEqualTo(3);
        assertThat(chat.getQuantities()).extracting(Quantity::getMeter, Quantity::getModel, q -> q.getQuantity().stripTrailingZeros().toPlainString())
                .containsExactlyInAnyOrder(
                        org.assertj.core.groups.Tuple.tuple("input_tokens", "gpt-4o", "2000"),
                        org.assertj.core.groups.Tuple.tuple("output_tokens", "gpt-4o", "350"),
                        org.assertj.core.groups.Tuple.tuple("input_tokens", "gpt-4o-mini", "1"));
        assertThat(total("cus_a", "drafts", Instant.parse("2026-11-01T00:00:00Z")).getCost()).isEqualByComparingTo("0.002");
        List<LimitUsage> emitted = f.aggregates.readValuesToList();
        assertThat(emitted).hasSize(4);
        assertThat(emitted.get(2).getCost()).isEqualByComparingTo("0.00850015");
    }

    @Test
    void sameEventSentAgainIsCountedOnceButTheSameIdFromAnotherSourceIsNot() {
        UsageEvent e = event("dup", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 1000L));
        send(e);
        send(e);
        send(UsageEvent.newBuilder(e).setSource("other-svc").build());

        assertThat(total("cus_a", "chat", Instant.parse("2026-11-01T00:00:00Z")).getEvents()).isEqualTo(2);
        assertThat(f.aggregates.readValuesToList()).hasSize(2);
    }

    @Test
    void anEventSentAgainAnyTimeWithinTheLateWindowIsCountedOnceWhicheverStoreBucketsItsTimesFallIn() {
        // received just before a bucket boundary of the dedup store (buckets are a quarter of the dedup window wide, from the epoch)
        long width = new io.capstream.policy.booking.EventTimeWindow(Duration.ofHours(24)).dedupWindow().toMillis();
        Instant boundary = Instant.ofEpochMilli((NOV.toEpochMilli() / width + 1) * width);
        Instant first = boundary.minusMillis(1);
        UsageEvent e = event("retried", "cus_r", "chat", "gpt-4o", first, Map.of("input_tokens", 1000L));
        f.send(e, first);
        // sent again across the boundary, a day later (still within the late window of its event time), and out of order
        f.send(e, boundary);
        f.send(e, first.plus(Duration.ofHours(23)).plusSeconds(3599));
        f.send(e, first.minusSeconds(60));

        assertThat(total("cus_r", "chat", Instant.parse("2026-11-01T00:00:00Z")).getEvents()).isEqualTo(1);
    }

    @Test
    void eventsInANewMonthStartFromZeroAndTheClosedMonthIsFinalisedOnce() {
        f.events.pipeInput(new TestRecord<>("cus_a", event("oct", "cus_a", "chat", "gpt-4o", Instant.parse("2026-10-31T23:59:59.999Z"),
                Map.of("input_tokens", 1000L)), Instant.parse("2026-11-01T00:00:01Z")));
        f.events.pipeInput(new TestRecord<>("cus_a", event("dec", "cus_a", "chat", "gpt-4o", Instant.parse("2026-12-01T00:00:00Z"),
                Map.of("input_tokens", 1L)), Instant.parse("2026-12-01T00:00:01Z")));

        // October closed (its end plus the late window is behind stream time): one final total, and it left the store
        assertThat(f.totals.readValuesToList()).singleElement().satisfies(t -> {
            assertThat(t.getPeriodStart()).isEqualTo(Instant.parse("2026-10-01T00:00:00Z"));
            assertThat(t.getCost()).isEqualByComparingTo("0.0025");
        });
        assertThat(total("cus_a", "chat", Instant.parse("2026-10-01T00:00:00Z"))).isNull();
        assertThat(total("cus_a", "chat", Instant.parse("2026-12-01T00:00:00Z")).getCost()).isEqualByComparingTo("0.0000025");
    }

    @Test
    void refusedEventsGoToTheDeadLetterTopicWithTheReasonAndAreNotCounted() {
        send(event("late", "cus_a", "chat", "gpt-4o", NOV.minus(Duration.ofHours(25)), Map.of("input_tokens", 1L)));
        send(event("unknown", "cus_a", "chat", "gpt-9", NOV, Map.of("input_tokens", 1L)));
        f.driver.createInputTopic(f.topics.usageEvents(), new ByteArraySerializer(), new ByteArraySerializer())
                .pipeInput(new TestRecord<>("cus_a".getBytes(), "garbage".getBytes(), NOV));
        send(event("ok", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 1L)));

        List<TestRecord<byte[], byte[]>> dead = f.dlq.readRecordsToList();
        assertThat(dead).hasSize(3);
        assertThat(header(dead.get(0), DeadLetterHandler.REASON)).contains("older than the late window");
        assertThat(header(dead.get(0), DeadLetterHandler.FIELD)).isEqualTo("time");
        assertThat(header(dead.get(1), DeadLetterHandler.FIELD)).isEqualTo("model");
        assertThat(header(dead.get(1), DeadLetterHandler.REASON)).contains("unknown model 'gpt-9'");
        assertThat(new String(dead.get(2).value())).isEqualTo("garbage");
        assertThat(f.eventSerde.deserialize("t", dead.get(0).value()).getId()).isEqualTo("late");
        assertThat(total("cus_a", "chat", Instant.parse("2026-11-01T00:00:00Z")).getEvents()).isEqualTo(1);
    }

    @Test
    void refusedEventDoesNotUseUpItsIdSoTheCorrectedEventCounts() {
        send(event("fixme", "cus_a", "chat", "gpt-9", NOV, Map.of("input_tokens", 1L)));
        send(event("fixme", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 1L)));

        assertThat(total("cus_a", "chat", Instant.parse("2026-11-01T00:00:00Z")).getEvents()).isEqualTo(1);
    }

    @Test
    void anEventWhoseTotalsWouldNotFitIsBookedNotAtAllAndItsCorrectedResendCounts() {
        // given a direct producer's event whose cost (2.5e23 USD) no running total can hold
        UsageEvent huge = event("big", "cus_a", "chat", "gpt-4o", NOV, Map.of());
        huge.setUsage(java.util.List.of(new io.capstream.schemas.Quantity("input_tokens", null,
                new BigDecimal("99999999999999999999999999999").setScale(9))));
        send(event("first", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 1000L)));

        // when it arrives, and then the corrected event with the same id
        send(huge);
        send(event("big", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 1000L)));

        // then it was dead-lettered with nothing of it booked, and the resend counted: two events of 1000 tokens
        List<TestRecord<byte[], byte[]>> dead = f.dlq.readRecordsToList();
        assertThat(dead).hasSize(1);
        assertThat(header(dead.get(0), DeadLetterHandler.REASON)).contains("nothing was booked");
        LimitUsage chat = total("cus_a", "chat", Instant.parse("2026-11-01T00:00:00Z"));
        assertThat(chat.getEvents()).isEqualTo(2);
        assertThat(chat.getCost()).isEqualByComparingTo("0.005");
        assertThat(chat.getQuantities()).singleElement().satisfies(q -> assertThat(q.getQuantity()).isEqualByComparingTo("2000"));
    }

    private static String header(TestRecord<byte[], byte[]> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}

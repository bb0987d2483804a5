package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.PolicyDocument;
import io.capstream.policy.PolicyLoader;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.serde.InternalAvroSerde;
import io.capstream.schemas.topics.Topics;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The production topology ({@link UsageTopology#build}) on the TopologyTestDriver. */
class UsageTopologyTest {
    static final PolicyDocument POLICY = PolicyLoader.fromYaml("""
            models:
              gpt-4o: {prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
              gpt-4o-mini: {prices: {input_tokens: "0.15/1M", output_tokens: "0.60/1M"}}
            meters:
              requests: {price: "0.001"}
            """);
    static final Instant NOV = Instant.parse("2026-11-21T10:00:00Z");

    final Topics topics = new Topics("t.");
    final InternalAvroSerde<UsageEvent> eventSerde = new InternalAvroSerde<>(UsageEvent.class);
    final InternalAvroSerde<LimitUsage> usageSerde = new InternalAvroSerde<>(LimitUsage.class);
    TopologyTestDriver driver;
    TestInputTopic<String, UsageEvent> events;
    TestOutputTopic<String, LimitUsage> aggregates;
    TestOutputTopic<byte[], byte[]> dlq;

    @BeforeEach
    void start() {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "topology-test");
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.usageEventsDlq());
        props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
        driver = new TopologyTestDriver(UsageTopology.build(topics, () -> POLICY, Duration.ofHours(24),
                new UsageTopology.TopicSerdes(eventSerde, usageSerde)), props);
        events = driver.createInputTopic(topics.usageEvents(), new StringSerializer(), eventSerde);
        aggregates = driver.createOutputTopic(topics.usageAggregates(), new StringDeserializer(), usageSerde);
        dlq = driver.createOutputTopic(topics.usageEventsDlq(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    static UsageEvent event(String id, String customer, String feature, String model, Instant time, Map<String, Long> usage) {
        return UsageEvent.newBuilder().setId(id).setSource("svc").setCustomer(customer).setFeature(feature).setModel(model)
                .setTime(time)
                .setUsage(usage.entrySet().stream()
                        .map(e -> new Quantity(e.getKey(), null, new BigDecimal(e.getValue()).setScale(9))).toList())
                .build();
    }

    void send(UsageEvent e) {
        events.pipeInput(new TestRecord<>(e.getCustomer(), e, NOV));
    }

    LimitUsage total(String customer, String feature, Instant periodStart) {
        KeyValueStore<String, LimitUsage> store = driver.getKeyValueStore(UsageTopology.TOTALS_STORE);
        return store.get(UsageKeys.key(customer, UsageKeys.featureLimit(feature), periodStart));
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
        List<LimitUsage> emitted = aggregates.readValuesToList();
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
        assertThat(aggregates.readValuesToList()).hasSize(2);
    }

    @Test
    void eventsInANewMonthStartFromZero() {
        events.pipeInput(new TestRecord<>("cus_a", event("oct", "cus_a", "chat", "gpt-4o", Instant.parse("2026-10-31T23:59:59.999Z"),
                Map.of("input_tokens", 1000L)), Instant.parse("2026-11-01T00:00:01Z")));
        events.pipeInput(new TestRecord<>("cus_a", event("dec", "cus_a", "chat", "gpt-4o", Instant.parse("2026-12-01T00:00:00Z"),
                Map.of("input_tokens", 1L)), Instant.parse("2026-12-01T00:00:01Z")));

        assertThat(total("cus_a", "chat", Instant.parse("2026-10-01T00:00:00Z")).getCost()).isEqualByComparingTo("0.0025");
        assertThat(total("cus_a", "chat", Instant.parse("2026-12-01T00:00:00Z")).getCost()).isEqualByComparingTo("0.0000025");
    }

    @Test
    void refusedEventsGoToTheDeadLetterTopicWithTheReasonAndAreNotCounted() {
        send(event("late", "cus_a", "chat", "gpt-4o", NOV.minus(Duration.ofHours(25)), Map.of("input_tokens", 1L)));
        send(event("unknown", "cus_a", "chat", "gpt-9", NOV, Map.of("input_tokens", 1L)));
        driver.createInputTopic(topics.usageEvents(), new ByteArraySerializer(), new ByteArraySerializer())
                .pipeInput(new TestRecord<>("cus_a".getBytes(), "garbage".getBytes(), NOV));
        send(event("ok", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 1L)));

        List<TestRecord<byte[], byte[]>> dead = dlq.readRecordsToList();
        assertThat(dead).hasSize(3);
        assertThat(header(dead.get(0), DeadLetterHandler.REASON)).contains("older than the late window");
        assertThat(header(dead.get(0), DeadLetterHandler.FIELD)).isEqualTo("time");
        assertThat(header(dead.get(1), DeadLetterHandler.FIELD)).isEqualTo("model");
        assertThat(header(dead.get(1), DeadLetterHandler.REASON)).contains("unknown model 'gpt-9'");
        assertThat(new String(dead.get(2).value())).isEqualTo("garbage");
        assertThat(eventSerde.deserialize("t", dead.get(0).value()).getId()).isEqualTo("late");
        assertThat(total("cus_a", "chat", Instant.parse("2026-11-01T00:00:00Z")).getEvents()).isEqualTo(1);
    }

    @Test
    void refusedEventDoesNotUseUpItsIdSoTheCorrectedEventCounts() {
        send(event("fixme", "cus_a", "chat", "gpt-9", NOV, Map.of("input_tokens", 1L)));
        send(event("fixme", "cus_a", "chat", "gpt-4o", NOV, Map.of("input_tokens", 1L)));

        assertThat(total("cus_a", "chat", Instant.parse("2026-11-01T00:00:00Z")).getEvents()).isEqualTo(1);
    }

    private static String header(TestRecord<byte[], byte[]> record, String name) {
        return new String(record.headers().lastHeader(name).value(), StandardCharsets.UTF_8);
    }
}

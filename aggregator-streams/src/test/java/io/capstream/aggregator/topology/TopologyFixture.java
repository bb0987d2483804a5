package io.capstream.aggregator.topology;

import io.capstream.schemas.topics.UsageKey;
import io.capstream.policy.customer.Customer;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.ReservationRecord;
import io.capstream.aggregator.strict.ReservationBook;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.serde.InternalAvroSerde;
import io.capstream.schemas.topics.Topics;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.state.KeyValueStore;
import org.apache.kafka.streams.test.TestRecord;

/** The production topology on a TopologyTestDriver, with plain Avro serdes standing in for the registry. */
final class TopologyFixture implements AutoCloseable {
    final Topics topics = new Topics("t.");
    final InternalAvroSerde<UsageEvent> eventSerde = new InternalAvroSerde<>(UsageEvent.class);
    final TopologyTestDriver driver;
    final ReservationBook reservations = new ReservationBook(Duration.ofMinutes(10), java.time.Clock.systemUTC());
    final TestInputTopic<String, ReservationRecord> reservationsIn;
    final TestInputTopic<String, UsageEvent> events;
    final TestInputTopic<String, CustomerRecord> customers;
    final TestInputTopic<String, PolicyRecord> policy;
    final InternalAvroSerde<io.capstream.schemas.EnforcementDecision> decisionSerde = new InternalAvroSerde<>(io.capstream.schemas.EnforcementDecision.class);
    final TestInputTopic<String, io.capstream.schemas.EnforcementDecision> decisions;
    final TestOutputTopic<String, LimitUsage> aggregates;
    final TestOutputTopic<String, ThresholdCrossed> thresholds;
    final TestOutputTopic<String, PeriodTotal> totals;
    final InternalAvroSerde<io.capstream.schemas.BillingAdjustment> adjustmentSerde = new InternalAvroSerde<>(io.capstream.schemas.BillingAdjustment.class);
    final TestOutputTopic<String, io.capstream.schemas.BillingAdjustment> adjustments;
    final TestOutputTopic<byte[], byte[]> dlq;
    final TestOutputTopic<String, io.capstream.schemas.RunawayState> runaway;
    final TestOutputTopic<String, io.capstream.schemas.EnforcementMetrics> metrics;

    TopologyFixture(String policyYaml) {
        this(policyYaml, UsageTopology.SeriesRetention.DEFAULT);
    }

    TopologyFixture(String policyYaml, UsageTopology.SeriesRetention retention) {
        this(policyYaml, retention, Map.of());
    }

    /** @param overrides Kafka Streams settings on top of the fixture's */
    TopologyFixture(String policyYaml, UsageTopology.SeriesRetention retention, Map<String, Object> overrides) {
        this(policyYaml, retention, overrides, new io.capstream.policy.booking.EventTimeWindow(Duration.ofHours(24)));
    }

    /** @param window the late window and the billing grace */
    TopologyFixture(String policyYaml, UsageTopology.SeriesRetention retention, Map<String, Object> overrides,
                    io.capstream.policy.booking.EventTimeWindow window) {
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "topology-test");
        try { // a state directory of its own: another build on the same machine (or a fixture left open) does not share it
            props.put(StreamsConfig.STATE_DIR_CONFIG, java.nio.file.Files.createTempDirectory("topology-test").toString());
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, "unused:9092");
        props.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.usageEventsDlq());
        props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
        props.putAll(overrides);
        InternalAvroSerde<CustomerRecord> customerSerde = new InternalAvroSerde<>(CustomerRecord.class);
        InternalAvroSerde<PolicyRecord> policySerde = new InternalAvroSerde<>(PolicyRecord.class);
        InternalAvroSerde<LimitUsage> usageSerde = new InternalAvroSerde<>(LimitUsage.class);
        InternalAvroSerde<ThresholdCrossed> thresholdSerde = new InternalAvroSerde<>(ThresholdCrossed.class);
        InternalAvroSerde<PeriodTotal> totalSerde = new InternalAvroSerde<>(PeriodTotal.class);
        driver = new TopologyTestDriver(UsageTopology.build(topics, window, new UsageTopology.TopicSerdes(
                eventSerde, customerSerde, policySerde, usageSerde, thresholdSerde, totalSerde, new InternalAvroSerde<>(ReservationRecord.class), decisionSerde,
                new InternalAvroSerde<>(io.capstream.schemas.RunawayState.class), new InternalAvroSerde<>(io.capstream.schemas.MetricsContribution.class),
                new InternalAvroSerde<>(io.capstream.schemas.EnforcementMetrics.class), new InternalAvroSerde<>(io.capstream.schemas.AuditEntry.class),
                adjustmentSerde),
                reservations, retention, (configs, client) -> (partition, offset) -> sent.get((int) offset)), props, Instant.parse("2026-11-01T00:00:00Z"));
        events = driver.createInputTopic(topics.usageEvents(), new StringSerializer(), eventSerde);
        customers = driver.createInputTopic(topics.customers(), new StringSerializer(), customerSerde);
        policy = driver.createInputTopic(topics.policy(), new StringSerializer(), policySerde);
        decisions = driver.createInputTopic(topics.enforcementDecisions(), new StringSerializer(), decisionSerde);
        reservationsIn = driver.createInputTopic(topics.reservations(), new StringSerializer(), new InternalAvroSerde<>(ReservationRecord.class));
        aggregates = driver.createOutputTopic(topics.usageAggregates(), new StringDeserializer(), usageSerde);
        thresholds = driver.createOutputTopic(topics.thresholdEvents(), new StringDeserializer(), thresholdSerde);
        totals = driver.createOutputTopic(topics.billingPeriodTotals(), new StringDeserializer(), totalSerde);
        adjustments = driver.createOutputTopic(topics.billingAdjustments(), new StringDeserializer(), adjustmentSerde);
        dlq = driver.createOutputTopic(topics.usageEventsDlq(), new ByteArrayDeserializer(), new ByteArrayDeserializer());
        runaway = driver.createOutputTopic(topics.runawayBreakers(), new StringDeserializer(),
                new InternalAvroSerde<>(io.capstream.schemas.RunawayState.class).deserializer());
        metrics = driver.createOutputTopic(topics.enforcementMetrics(), new StringDeserializer(),
                new InternalAvroSerde<>(io.capstream.schemas.EnforcementMetrics.class).deserializer());
        applyPolicy(policyYaml);
    }

    void applyPolicy(String yaml) {
        policy.pipeInput(Topics.POLICY_KEY, PolicyRecord.newBuilder().setName(Topics.POLICY_KEY)
                .setVersion(Integer.toHexString(yaml.hashCode())).setSource(yaml).setAppliedAt(Instant.EPOCH).build());
    }

    void configure(Customer customer, Instant at) {
        customers.pipeInput(new TestRecord<>(customer.id(), CustomerMapping.toRecord(customer, at), at));
    }

    static UsageEvent event(String id, String customer, String feature, String model, Instant time, Map<String, Long> usage) {
        return UsageEvent.newBuilder().setId(id).setSource("svc").setCustomer(customer).setFeature(feature).setModel(model)
                .setTime(time)
                .setUsage(usage.entrySet().stream()
                        .map(e -> new Quantity(e.getKey(), null, new BigDecimal(e.getValue()).setScale(9))).toList())
                .build();
    }

    /** Sends the event as ingest would: the record timestamp is when it was received. */
    void send(UsageEvent e, Instant receivedAt) {
        sent.add(e);
        events.pipeInput(new TestRecord<>(e.getCustomer(), e, receivedAt));
    }

    /**
     * What {@link #send} piped into usage-events, by offset (the test driver numbers a topic's records from 0): what an
     * amendment reads back, as the aggregator reads usage-events in production. Tests that amend pipe events only through send.
     */
    final java.util.List<UsageEvent> sent = new java.util.ArrayList<>();

    LimitUsage limit(String customer, String limitId, Instant periodStart) {
        TotalsStore store = (TotalsStore) driver.getAllStateStores().get(UsageTopology.LIMITS_STORE);
        return store.get(UsageKey.of(customer, limitId, periodStart));
    }

    /** One customer's buckets of a span, hourly or daily, as the series API reads them. */
    java.util.List<SeriesBook.Stored> series(io.capstream.policy.booking.Series.Granularity granularity, String customer, Instant from, Instant to) {
        SeriesStore hourly = (SeriesStore) driver.getAllStateStores().get(UsageTopology.SERIES_HOURLY_STORE);
        if (granularity == io.capstream.policy.booking.Series.Granularity.HOUR) {
            return SeriesBook.read(hourly, customer, from, to);
        }
        return SeriesBook.readDays((SeriesStore) driver.getAllStateStores().get(UsageTopology.SERIES_DAILY_STORE), hourly,
                driver.getKeyValueStore(UsageTopology.SERIES_ROLLUPS_STORE), customer, from, to);
    }

    /** The days written to the daily store (rolled up, or later than their rollup) that start in [from, to). */
    java.util.List<SeriesBook.Stored> rolledUpDays(String customer, Instant from, Instant to) {
        return SeriesBook.read((SeriesStore) driver.getAllStateStores().get(UsageTopology.SERIES_DAILY_STORE), customer, from, to);
    }

    @Override
    public void close() {
        driver.close();
    }
}

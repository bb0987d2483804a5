package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.capstream.aggregator.AggregatorConfig;
import io.capstream.aggregator.AggregatorService;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.FreePort;
import io.capstream.testkit.SharedStack;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AlterConfigOp;
import org.apache.kafka.clients.admin.ConfigEntry;
import org.apache.kafka.common.config.ConfigResource;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.common.utils.Utils;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** The aggregator as a real process, killed with SIGKILL in the middle of traffic and started again. */
class AggregatorCrashIT {
    Stack stack;
    Path configFile;
    int port;
    Process aggregator;

    void start(String name, String policy) throws IOException {
        stack = new Stack(name, policy);
        port = FreePort.pick();
        Map<String, String> config = stack.aggregatorConfig(0);
        config.put(AggregatorConfig.HTTP_PORT, Integer.toString(port));
        Properties properties = new Properties();
        properties.putAll(config);
        configFile = stack.dir.resolve("aggregator.properties");
        try (OutputStream out = Files.newOutputStream(configFile)) {
            properties.store(out, "crash test");
        }
    }

    @AfterEach
    void stop() throws InterruptedException {
        if (aggregator != null) {
            aggregator.destroy();
            aggregator.waitFor(30, TimeUnit.SECONDS);
        }
        stack.close();
    }

    Process launch(String name) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                AggregatorService.class.getName(), configFile.toString())
                .redirectErrorStream(true)
                .redirectOutput(Path.of("target", name + ".log").toFile())
                .start();
    }

    void awaitReady() {
        HttpClient http = HttpClient.newHttpClient();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    }

    @Test
    void totalsStayExactWhenTheAggregatorIsKilledInTheMiddleOfHttpTrafficAndRestarted() throws Exception {
        // given a running aggregator process and HTTP traffic with retried batches
        start("crash-http", "/test-policy.yaml");
        aggregator = launch("crash-http-1");
        awaitReady();
        Traffic traffic = new Traffic("crash_", 100, 10_000, 99);
        List<String> batches = traffic.batches(100);
        CountDownLatch aThirdSent = new CountDownLatch(batches.size() / 3);
        CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < batches.size(); i++) {
                assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
                if (i % 10 == 0) {
                    assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
                }
                aThirdSent.countDown();
            }
        });

        // when the aggregator is killed with SIGKILL mid-traffic and started again
        assertThat(aThirdSent.await(60, TimeUnit.SECONDS)).isTrue();
        aggregator.destroyForcibly().waitFor();
        aggregator = launch("crash-http-2");
        sender.get(120, TimeUnit.SECONDS);
        awaitReady();

        // then every total is exact
        stack.awaitExactTotals(traffic, Duration.ofSeconds(120), Duration.ofSeconds(1), port);

        // and the batches booked before the kill, sent again now, are recognised by the dedup store the restarted process
        // restored from its changelog (one record per commit): nothing changes
        for (String batch : batches.subList(0, batches.size() / 3)) {
            assertThat(stack.postEvents(batch).statusCode()).isEqualTo(202);
        }
        Thread.sleep(5_000); // they are booked (or not) within a few commit intervals
        stack.awaitExactTotals(traffic, Duration.ofSeconds(5), Duration.ofSeconds(1), port);
    }

    @Test
    void thresholdEventsExactlyOnceAndFinalTotalsExactAcrossASigkill() throws Exception {
        // given a month of usage (October) from a direct Kafka producer, 10 % of it sent twice, for
        // customers on a plan with $10 of chat included and a $2 monthly cap
        start("crash-limits", "/limits-policy.yaml");
        keepOldRecords();
        Instant october = Instant.parse("2026-10-01T00:00:00Z");
        Traffic traffic = new Traffic("lim_", 60, 6_000, 7, october.plusSeconds(60), Duration.ofMinutes(7));
        produce(traffic.events, 10);
        long total = traffic.events.size() + traffic.events.size() / 10;

        // when the aggregator is killed with SIGKILL after about a third of it, and started again
        aggregator = launch("crash-limits-1");
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(100)).until(() -> committed() >= total / 3);
        aggregator.destroyForcibly().waitFor();
        aggregator = launch("crash-limits-2");
        // and traffic moves on past November 1 + the late window on every partition, closing October
        produce(closingEvents(), 0);

        // then October's final totals add up to the cost of October's events, exactly
        BigDecimal expectedTotal = traffic.expectedCost.values().stream().reduce(BigDecimal.ZERO, BigDecimal::add);
        Map<String, PeriodTotal> totals = new HashMap<>();
        List<ThresholdCrossed> crossings = new ArrayList<>();
        try (KafkaConsumer<String, PeriodTotal> totalsConsumer = consumer(PeriodTotal.class);
             KafkaConsumer<String, ThresholdCrossed> crossingsConsumer = consumer(ThresholdCrossed.class)) {
            totalsConsumer.subscribe(List.of(stack.topics.billingPeriodTotals()));
            crossingsConsumer.subscribe(List.of(stack.topics.thresholdEvents()));
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(10)).untilAsserted(() -> {
                totalsConsumer.poll(Duration.ofMillis(200)).forEach(r -> totals.put(r.key(), r.value()));
                assertThat(totals.keySet()).hasSize(traffic.expectedCostByFeature.size());
            });
            BigDecimal sum = totals.values().stream().map(PeriodTotal::getCost).reduce(BigDecimal.ZERO, BigDecimal::add);
            assertThat(sum).isEqualByComparingTo(expectedTotal);
            for (PeriodTotal t : totals.values()) {
                assertThat(t.getCost()).as(t.getCustomer() + " " + t.getFeature())
                        .isEqualByComparingTo(traffic.expectedCostByFeature.get(t.getCustomer() + "|" + t.getFeature()));
                assertThat(t.getIncluded().add(t.getGrantCovered()).add(t.getBilled())).isEqualByComparingTo(t.getCost());
            }
            // and every threshold crossing of October exactly once
            long quietSince = System.nanoTime();
            while (System.nanoTime() - quietSince < Duration.ofSeconds(3).toNanos()) {
                crossingsConsumer.poll(Duration.ofMillis(200)).forEach(r -> {
                    if (r.value().getPeriodStart().equals(october)) {
                        crossings.add(r.value());
                    }
                });
            }
        }
        List<String> ids = crossings.stream().map(ThresholdCrossed::getId).toList();
        assertThat(ids).doesNotHaveDuplicates();
        assertThat(new HashSet<>(ids)).isEqualTo(expectedCrossings(traffic, october));
    }

    /** What must have crossed: the $2 cap on all spend, and the $10 chat entitlement on chat spend, at 80, 90 and 100 %. */
    static Set<String> expectedCrossings(Traffic traffic, Instant periodStart) {
        Set<String> expected = new HashSet<>();
        String[] thresholds = {"0.8", "0.9", "1"};
        traffic.expectedCost.forEach((customer, cost) -> {
            for (String t : thresholds) {
                if (cost.compareTo(new BigDecimal("2").multiply(new BigDecimal(t))) >= 0) {
                    expected.add(customer + "|cap:monthly-spend|" + periodStart + "|" + t + "|2");
                }
            }
            BigDecimal chat = traffic.expectedCostByFeature.getOrDefault(customer + "|chat", BigDecimal.ZERO);
            for (String t : thresholds) {
                if (chat.compareTo(BigDecimal.TEN.multiply(new BigDecimal(t))) >= 0) {
                    expected.add(customer + "|entitlement:chat|" + periodStart + "|" + t + "|10");
                }
            }
        });
        return expected;
    }

    /** One event now for a customer on each partition, so that stream time passes October's close everywhere. */
    List<UsageEvent> closingEvents() {
        List<UsageEvent> events = new ArrayList<>();
        Set<Integer> covered = new HashSet<>();
        for (int i = 0; covered.size() < Topics.CUSTOMER_PARTITIONS; i++) {
            String customer = "close_" + i;
            if (covered.add(Utils.toPositive(Utils.murmur2(customer.getBytes())) % Topics.CUSTOMER_PARTITIONS)) {
                events.add(UsageEvent.newBuilder(new Traffic("close_", 1, 1, i).events.getFirst()).setCustomer(customer).build());
            }
        }
        return events;
    }

    /** Sends the events with their event time as the record timestamp, every {@code everyNth} sent twice. */
    void produce(List<UsageEvent> events, int everyNth) throws Exception {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.kafka().bootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        try (KafkaProducer<String, UsageEvent> producer = new KafkaProducer<>(props, new StringSerializer(),
                RegistryAvroSerde.of(UsageEvent.class, new SchemaRegistryClient(SharedStack.registry().url()), true))) {
            for (int i = 0; i < events.size(); i++) {
                UsageEvent e = events.get(i);
                ProducerRecord<String, UsageEvent> record = new ProducerRecord<>(stack.topics.usageEvents(), null, e.getTime().toEpochMilli(), e.getCustomer(), e);
                producer.send(record);
                if (everyNth > 0 && i % everyNth == 0) {
                    producer.send(record);
                }
            }
            producer.flush();
        }
    }

    /**
     * This test replays a month in seconds, so its records carry timestamps weeks old; the brokers
     * would delete them at once under the production retention (late window + 1 day, measured
     * against the wall clock). Keep them for the test.
     */
    void keepOldRecords() throws Exception {
        try (Admin admin = SharedStack.kafka().admin()) {
            AlterConfigOp keep = new AlterConfigOp(new ConfigEntry("retention.ms", "-1"), AlterConfigOp.OpType.SET);
            Map<ConfigResource, java.util.Collection<AlterConfigOp>> changes = new HashMap<>();
            for (String topic : List.of(stack.topics.usageEvents(), stack.topics.thresholdEvents())) {
                changes.put(new ConfigResource(ConfigResource.Type.TOPIC, topic), List.of(keep));
            }
            admin.incrementalAlterConfigs(changes).all().get(30, TimeUnit.SECONDS);
        }
        Map<String, String> config = stack.aggregatorConfig(0);
        config.put(AggregatorConfig.HTTP_PORT, Integer.toString(port));
        config.put("kafka.windowstore.changelog.additional.retention.ms", Long.toString(Duration.ofDays(365).toMillis()));
        Properties properties = new Properties();
        properties.putAll(config);
        try (OutputStream out = Files.newOutputStream(configFile)) {
            properties.store(out, "crash test, old records kept");
        }
    }

    long committed() throws Exception {
        try (Admin admin = SharedStack.kafka().admin()) {
            Map<TopicPartition, OffsetAndMetadata> offsets =
                    admin.listConsumerGroupOffsets(stack.applicationId).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS);
            return offsets.entrySet().stream().filter(e -> e.getKey().topic().equals(stack.topics.usageEvents()) && e.getValue() != null)
                    .mapToLong(e -> e.getValue().offset()).sum();
        }
    }

    <T extends org.apache.avro.specific.SpecificRecord> KafkaConsumer<String, T> consumer(Class<T> type) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.kafka().bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "crash-check-" + type.getSimpleName() + System.nanoTime());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        return new KafkaConsumer<>(props, new StringDeserializer(),
                RegistryAvroSerde.of(type, new SchemaRegistryClient(SharedStack.registry().url()), false));
    }
}

package io.capstream.bench;

import io.capstream.aggregator.topology.DeadLetterHandler;
import io.capstream.aggregator.topology.UsageTopology;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.ApicurioRegistry;
import io.capstream.testkit.KafkaCluster;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListOffsetsResult;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;

/**
 * The load generator behind the throughput figure of docs/performance.md. On one real in-process
 * KRaft broker and a real registry, in one run, it measures:
 * <ol>
 *   <li>the baseline: a raw Kafka producer (acks=all, idempotent) sending records of exactly the
 *       size of the Avro usage events to a 12-partition topic;</li>
 *   <li>the aggregator: the production topology with exactly-once v2 consuming the same number of
 *       usage events already in {@code usage-events}, from RUNNING until every input offset is
 *       committed.</li>
 * </ol>
 * Usage: {@code ThroughputBenchmark [events] [customers]} (defaults 200000 and 1000).
 */
public final class ThroughputBenchmark {
    private static final String POLICY = """
            models:
              gpt-4o: {prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
              gpt-4o-mini: {prices: {input_tokens: "0.15/1M", output_tokens: "0.60/1M"}}
              claude-sonnet: {prices: {input_tokens: "3.00/1M", output_tokens: "15.00/1M"}}
            plans:
              pro:
                price: "20"
                entitlements:
                  chat: {measure: USD, included: "10", period: billing, over: bill_overage}
                  drafts: {measure: input_tokens, included: 1000000, period: daily, over: bill_overage}
                default_caps:
                  - {id: monthly-spend, amount: "50", period: billing}
            %s
            default_plan: pro
            """.formatted(Boolean.parseBoolean(System.getProperty("bench.runaway", "true"))
            // the runaway breaker watches every customer (its per-event work is part of the cost); -Dbench.runaway=false leaves it out
            ? "    runaway: {factor: 10, floor: \"0.10\", sustain_minutes: 2, action: block}" : "");
    private static final String[] MODELS = {"gpt-4o", "gpt-4o-mini", "claude-sonnet"};
    private static final String[] FEATURES = {"chat", "drafts", "deep_research"};
    /**
     * {@code -Dbench.features=N}: each event's feature one of N made-up ones instead of the plan's three, so that customers
     * reach the bound of features with a total of their own (docs/finance.md) and beyond; 0 (default) for the three.
     */
    private static final int MANY_FEATURES = Integer.getInteger("bench.features", 0);

    private ThroughputBenchmark() {}

    public static void main(String[] args) throws Exception {
        int events = args.length > 0 ? Integer.parseInt(args[0]) : 200_000;
        int customers = args.length > 1 ? Integer.parseInt(args[1]) : 1_000;
        Path work = Files.createTempDirectory("capstream-bench");
        try (KafkaCluster kafka = KafkaCluster.start(); ApicurioRegistry registry = ApicurioRegistry.start(work.resolve("registry.log"))) {
            Topics topics = new Topics("bench.");
            kafka.createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
            kafka.createTopics(List.of(new NewTopic("bench.raw", Topics.CUSTOMER_PARTITIONS, (short) 1)));
            SchemaRegistryClient client = new SchemaRegistryClient(registry.url());
            RegistryAvroSerde<UsageEvent> eventSerde = RegistryAvroSerde.of(UsageEvent.class, client, true);

            List<UsageEvent> generated = generate(events, customers);
            List<byte[]> encoded = new ArrayList<>(events);
            for (UsageEvent e : generated) {
                encoded.add(eventSerde.serialize(topics.usageEvents(), e));
            }
            double avgBytes = encoded.stream().mapToInt(b -> b.length).average().orElse(0);

            // 1. baseline: raw producer, same record sizes and keys
            double rawRate;
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps(kafka), new StringSerializer(), new ByteArraySerializer())) {
                rawRate = produce(producer, "bench.raw", generated, encoded);
            }
            // the usage events themselves, for the aggregator to consume
            try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps(kafka), new StringSerializer(), new ByteArraySerializer())) {
                produce(producer, topics.usageEvents(), generated, encoded);
            }

            // 2. the aggregator, exactly-once, from RUNNING until every input offset is committed; every
            //    event is priced, deduplicated, split (entitlement, grants) and counted by a cap
            try (PolicyPublisher publisher = new PolicyPublisher(Map.of("bootstrap.servers", kafka.bootstrapServers()), client, true, topics)) {
                publisher.publish(POLICY, Instant.now());
            }
            Properties props = new Properties();
            props.put(StreamsConfig.APPLICATION_ID_CONFIG, "bench-aggregator");
            props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
            props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
            props.put(StreamsConfig.STATE_DIR_CONFIG, work.resolve("state").toString());
            props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, 100);
            props.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.usageEventsDlq());
            props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
            props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
            props.put(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, io.capstream.aggregator.topology.StoreOptions.class);
            // -Dbench.streams.NAME=VALUE sets a Kafka Streams (or client) setting NAME for the run
            System.getProperties().stringPropertyNames().stream().filter(n -> n.startsWith("bench.streams."))
                    .forEach(n -> props.put(n.substring("bench.streams.".length()), System.getProperty(n)));
            UsageTopology.TopicSerdes serdes = new UsageTopology.TopicSerdes(eventSerde,
                    RegistryAvroSerde.of(CustomerRecord.class, client, true), RegistryAvroSerde.of(PolicyRecord.class, client, true),
                    RegistryAvroSerde.of(LimitUsage.class, client, true), RegistryAvroSerde.of(ThresholdCrossed.class, client, true),
                    RegistryAvroSerde.of(PeriodTotal.class, client, true), RegistryAvroSerde.of(io.capstream.schemas.ReservationRecord.class, client, true),
                    RegistryAvroSerde.of(io.capstream.schemas.EnforcementDecision.class, client, true),
                    RegistryAvroSerde.of(io.capstream.schemas.RunawayState.class, client, true),
                    RegistryAvroSerde.of(io.capstream.schemas.MetricsContribution.class, client, true),
                    RegistryAvroSerde.of(io.capstream.schemas.EnforcementMetrics.class, client, true),
                    RegistryAvroSerde.of(io.capstream.schemas.AuditEntry.class, client, true),
                    RegistryAvroSerde.of(io.capstream.schemas.BillingAdjustment.class, client, true));
            Mark start;
            Mark half = null;
            Mark end;
            long produced;
            try (KafkaStreams streams = new KafkaStreams(UsageTopology.build(topics, Duration.ofHours(24), serdes), props);
                 Admin admin = kafka.admin()) {
                streams.start();
                while (streams.state() != KafkaStreams.State.RUNNING) {
                    Thread.sleep(10);
                }
                start = Mark.of(streams);
                Map<TopicPartition, Long> ends = endOffsets(admin, topics.usageEvents());
                while (!caughtUp(admin, "bench-aggregator", ends)) {
                    Thread.sleep(20);
                    if (half == null) {
                        Mark m = Mark.of(streams);
                        half = m.processed() >= events / 2 ? m : null;
                    }
                }
                end = Mark.of(streams);
                if (AMENDMENTS > 0) {
                    amendments(kafka, admin, topics, eventSerde, generated);
                }
                streams.close(Duration.ofSeconds(30));
                produced = countRecords(kafka, admin, "bench-aggregator-", topics.usageAggregates());
                dedupStorage(admin, work.resolve("state"), events);
            }
            double aggregatorRate = events / ((end.nanos() - start.nanos()) / 1e9);
            report(events, customers, avgBytes, rawRate, aggregatorRate);
            System.out.printf(Locale.ROOT, "aggregator: %.0f events/s, ratio %.2f, stream thread %.1f us/event, process %.1f us/event, %.2f records/event%n",
                    aggregatorRate, aggregatorRate / rawRate, (end.streamCpu() - start.streamCpu()) / 1e3 / events,
                    (end.aggregatorCpu() - start.aggregatorCpu()) / 1e3 / events, (double) produced / events);
            System.out.println("(process: the aggregator's own threads — stream thread, its producer and consumers; the in-process broker excluded)");
            if (half != null && end.processed() > half.processed()) {
                // the second half alone: the JIT has compiled the hot paths by then (in the first seconds its threads take a core)
                long n = end.processed() - half.processed();
                double rate = n / ((end.nanos() - half.nanos()) / 1e9);
                System.out.printf(Locale.ROOT, "aggregator, second half (warm): %.0f events/s, ratio %.2f, stream thread %.1f us/event, process %.1f us/event;"
                                + " whole process (broker included) %.2f of %d cores busy%n", rate, rate / rawRate,
                        (end.streamCpu() - half.streamCpu()) / 1e3 / n, (end.aggregatorCpu() - half.aggregatorCpu()) / 1e3 / n,
                        (end.wholeCpu() - half.wholeCpu()) / (double) (end.nanos() - half.nanos()), Runtime.getRuntime().availableProcessors());
                if (customers == 1) {
                    System.out.printf(Locale.ROOT, "whale, second half (warm): %.0f events/s (one customer)%n", rate);
                }
            }
            if (customers == 1) {
                System.out.printf(Locale.ROOT, "whale: %.0f events/s (one customer)%n", aggregatorRate);
            }
        }
    }

    /** A moment of the aggregator's run: the clock, the CPU of its stream threads, of all its threads and of the process, and the records processed. */
    private record Mark(long nanos, long streamCpu, long aggregatorCpu, long wholeCpu, long processed) {
        static Mark of(KafkaStreams streams) {
            return new Mark(System.nanoTime(), cpuOfThreads(ThroughputBenchmark::isStreamThread), cpuOfThreads(name -> name.contains("bench-aggregator")),
                    processCpu(), ThroughputBenchmark.processed(streams));
        }
    }

    /** The records the stream threads of {@code streams} have processed so far (their {@code process-total}). */
    static long processed(KafkaStreams streams) {
        double total = 0;
        for (org.apache.kafka.common.Metric m : streams.metrics().values()) {
            if (m.metricName().name().equals("process-total") && m.metricName().group().equals("stream-thread-metrics")) {
                total += ((Number) m.metricValue()).doubleValue();
            }
        }
        return (long) total;
    }

    /**
     * What the dedup store holds per event id: its RocksDB files (every task's segments, after the memtables were flushed at the
     * last commit) and its changelog partitions on the broker, each divided by the ids remembered. Prints the line
     * {@code dedup: ...} and what a window of 35 days costs at 10,000 events/s (docs/performance.md, "Dedup for 35 days").
     */
    private static void dedupStorage(Admin admin, Path stateDir, int ids) throws Exception {
        long rocks;
        try (java.util.stream.Stream<Path> files = Files.walk(stateDir)) {
            rocks = files.filter(f -> f.toString().contains("/" + UsageTopology.DEDUP_STORE + "/") && Files.isRegularFile(f)
                            && f.getFileName().toString().endsWith(".sst"))
                    .mapToLong(f -> f.toFile().length()).sum();
        }
        String changelog = "bench-aggregator-" + UsageTopology.DEDUP_STORE + "-changelog";
        long logged = 0;
        for (var dir : admin.describeLogDirs(List.of(0)).allDescriptions().get(30, TimeUnit.SECONDS).get(0).values()) {
            for (var replica : dir.replicaInfos().entrySet()) {
                if (replica.getKey().topic().equals(changelog)) {
                    logged += replica.getValue().size();
                }
            }
        }
        // a 35-day window (and its 5 minutes of skew): RocksDB holds at most the retention and one bucket (DedupProcessor.store), the
        // changelog the retention and Kafka Streams' extra day for window stores (windowstore.changelog.additional.retention.ms)
        java.time.Duration window = Duration.ofDays(35).plusMinutes(5);
        double perSecond = 10_000.0;
        double inRocks = perSecond * window.multipliedBy(3).dividedBy(2).plusHours(1).toSeconds();
        double inLog = perSecond * window.plus(window.dividedBy(4)).plusHours(1).plusDays(1).toSeconds();
        System.out.printf(Locale.ROOT, "dedup: %d ids, RocksDB %.1f bytes/id (SST files), changelog %.1f bytes/id; a 35-day window at 10,000 events/s"
                        + " holds up to %.2e ids in RocksDB (%.2f TB) and %.2e in the changelog (%.2f TB per replica)%n",
                ids, (double) rocks / ids, (double) logged / ids, inRocks, inRocks * rocks / ids / 1e12, inLog, inLog * logged / ids / 1e12);
    }

    /**
     * Voids sent after the bulk, {@code -Dbench.amendments=N} (0: none; they also change the dedup figures a little), in random
     * order, or with {@code -Dbench.amendments.order=booked} in the order the events were booked (as a backfill's corrections).
     */
    private static final int AMENDMENTS = Integer.getInteger("bench.amendments", 0);

    /**
     * What an amendment costs the aggregator: voids of {@link #AMENDMENTS} events booked above (each reads its event back from
     * usage-events; in random order none is next to the last), timed from the first send until every one is committed.
     * Prints {@code amendments: ...}.
     */
    private static void amendments(KafkaCluster kafka, Admin admin, Topics topics, RegistryAvroSerde<UsageEvent> serde,
                                   List<UsageEvent> booked) throws Exception {
        List<UsageEvent> targets = new ArrayList<>(booked);
        boolean inOrder = "booked".equals(System.getProperty("bench.amendments.order"));
        if (!inOrder) {
            java.util.Collections.shuffle(targets, new Random(2));
        }
        targets = targets.subList(0, Math.min(AMENDMENTS, targets.size()));
        long start = System.nanoTime();
        long streamCpu0 = cpuOfThreads(ThroughputBenchmark::isStreamThread);
        long processCpu0 = cpuOfThreads(name -> name.contains("bench-aggregator"));
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(producerProps(kafka), new StringSerializer(), new ByteArraySerializer())) {
            long now = System.currentTimeMillis();
            for (UsageEvent e : targets) {
                UsageEvent v = UsageEvent.newBuilder().setId(e.getId()).setSource(e.getSource()).setCustomer(e.getCustomer()).setFeature("")
                        .setTime(Instant.ofEpochMilli(now)).setUsage(List.of()).setAmendment("void").setReason("bench").build();
                producer.send(new ProducerRecord<>(topics.usageEvents(), null, now, e.getCustomer(), serde.serialize(topics.usageEvents(), v)));
            }
            producer.flush();
        }
        Map<TopicPartition, Long> ends = endOffsets(admin, topics.usageEvents());
        while (!caughtUp(admin, "bench-aggregator", ends)) {
            Thread.sleep(20);
        }
        double seconds = (System.nanoTime() - start) / 1e9;
        long streamCpu = cpuOfThreads(ThroughputBenchmark::isStreamThread) - streamCpu0;
        long processCpu = cpuOfThreads(name -> name.contains("bench-aggregator")) - processCpu0;
        System.out.printf(Locale.ROOT, "amendments: %d voids in %s order, %.0f/s, stream thread %.1f us/void, process %.1f us/void%n",
                targets.size(), inOrder ? "booked" : "random", targets.size() / seconds, streamCpu / 1e3 / targets.size(), processCpu / 1e3 / targets.size());
    }

    /** Event ids as random UUIDs (36 characters) instead of short sequential ones: {@code -Dbench.ids=uuid}. */
    private static final boolean UUID_IDS = "uuid".equals(System.getProperty("bench.ids"));

    private static List<UsageEvent> generate(int events, int customers) {
        Random random = new Random(1);
        Instant now = Instant.now();
        List<UsageEvent> list = new ArrayList<>(events);
        for (int i = 0; i < events; i++) {
            list.add(UsageEvent.newBuilder()
                    .setId(UUID_IDS ? new java.util.UUID(random.nextLong(), random.nextLong()).toString() : "evt-" + i).setSource("bench").setCustomer("cus_" + random.nextInt(customers))
                    .setUser("usr_" + random.nextInt(50)).setApiKey("key_" + random.nextInt(10))
                    .setFeature(MANY_FEATURES > 0 ? "feature_" + random.nextInt(MANY_FEATURES) : FEATURES[random.nextInt(FEATURES.length)])
                    .setModel(MODELS[random.nextInt(MODELS.length)])
                    .setTime(now)
                    .setUsage(List.of(new Quantity("input_tokens", null, new BigDecimal(1 + random.nextInt(5000)).setScale(9)),
                            new Quantity("output_tokens", null, new BigDecimal(random.nextInt(2000)).setScale(9))))
                    .build());
        }
        return list;
    }

    private static Map<String, Object> producerProps(KafkaCluster kafka) {
        Map<String, Object> props = new HashMap<>();
        props.put(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 5);
        props.put(ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        return props;
    }

    /** Sends every record and waits for all acknowledgements; returns records per second. */
    private static double produce(KafkaProducer<String, byte[]> producer, String topic, List<UsageEvent> events, List<byte[]> values) {
        long now = System.currentTimeMillis();
        long start = System.nanoTime();
        for (int i = 0; i < values.size(); i++) {
            producer.send(new ProducerRecord<>(topic, null, now, events.get(i).getCustomer(), values.get(i)));
        }
        producer.flush();
        return values.size() / ((System.nanoTime() - start) / 1e9);
    }

    private static Map<TopicPartition, Long> endOffsets(Admin admin, String topic) throws Exception {
        Map<TopicPartition, OffsetSpec> request = new HashMap<>();
        for (int p = 0; p < Topics.CUSTOMER_PARTITIONS; p++) {
            request.put(new TopicPartition(topic, p), OffsetSpec.latest());
        }
        Map<TopicPartition, Long> ends = new HashMap<>();
        for (Map.Entry<TopicPartition, ListOffsetsResult.ListOffsetsResultInfo> e : admin.listOffsets(request).all().get(30, TimeUnit.SECONDS).entrySet()) {
            ends.put(e.getKey(), e.getValue().offset());
        }
        return ends;
    }

    private static boolean caughtUp(Admin admin, String group, Map<TopicPartition, Long> ends) throws Exception {
        Map<TopicPartition, OffsetAndMetadata> committed =
                admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get(30, TimeUnit.SECONDS);
        for (Map.Entry<TopicPartition, Long> end : ends.entrySet()) {
            OffsetAndMetadata c = committed.get(end.getKey());
            // under exactly-once the committed offset also passes the transaction marker
            if (end.getValue() > 0 && (c == null || c.offset() < end.getValue())) {
                return false;
            }
        }
        return true;
    }

    private static void report(int events, int customers, double avgBytes, double rawRate, double aggregatorRate) {
        String jdk = System.getProperty("java.vendor") + " " + System.getProperty("java.version");
        System.out.printf(Locale.ROOT, """

                Capstream throughput, %d events for %d customers, %.0f bytes per record (Avro, Confluent wire format)
                machine: %d cores, %s, %s
                | measurement | events/s | ratio to raw producer |
                |---|---:|---:|
                | raw Kafka producer (acks=all, idempotent, lz4), same sizes and keys | %,.0f | 1.00 |
                | aggregator (exactly_once_v2: price, dedup, split, entitlement + cap + feature totals, emit) | %,.0f | %.2f |
                %n""", events, customers, avgBytes, Runtime.getRuntime().availableProcessors(), jdk,
                System.getProperty("os.name") + " " + System.getProperty("os.arch"), rawRate, aggregatorRate, aggregatorRate / rawRate);
    }

    /** A stream thread itself ({@code <client>-StreamThread-1}), not its producer's network thread. */
    static boolean isStreamThread(String name) {
        return name.matches(".*-StreamThread-\\d+");
    }

    /** CPU time, in ns, of the whole process (every thread, the in-process broker and registry included). */
    static long processCpu() {
        return ((com.sun.management.OperatingSystemMXBean) java.lang.management.ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /** CPU time, in ns, of the live threads whose name {@code matches}. */
    static long cpuOfThreads(java.util.function.Predicate<String> matches) {
        java.lang.management.ThreadMXBean mx = java.lang.management.ManagementFactory.getThreadMXBean();
        long sum = 0;
        for (Thread t : Thread.getAllStackTraces().keySet()) {
            if (matches.test(t.getName())) {
                long cpu = mx.getThreadCpuTime(t.threadId());
                sum += Math.max(cpu, 0);
            }
        }
        return sum;
    }

    /** Committed records in the application's changelog topics (by prefix) and in {@code outputTopic}. */
    static long countRecords(KafkaCluster kafka, Admin admin, String changelogPrefix, String outputTopic) throws Exception {
        List<String> names = new ArrayList<>(admin.listTopics().names().get().stream()
                .filter(t -> (t.startsWith(changelogPrefix) && t.endsWith("-changelog")) || t.equals(outputTopic)).toList());
        Map<String, Object> props = Map.of("bootstrap.servers", kafka.bootstrapServers(), "isolation.level", "read_committed",
                "auto.offset.reset", "earliest", "group.id", "bench-count-" + System.nanoTime());
        long count = 0;
        try (org.apache.kafka.clients.consumer.KafkaConsumer<byte[], byte[]> consumer = new org.apache.kafka.clients.consumer.KafkaConsumer<>(props,
                new org.apache.kafka.common.serialization.ByteArrayDeserializer(), new org.apache.kafka.common.serialization.ByteArrayDeserializer())) {
            consumer.subscribe(names);
            Map<String, Long> byTopic = new java.util.TreeMap<>();
            int idle = 0;
            while (idle < 10) {
                var records = consumer.poll(Duration.ofMillis(300));
                int n = records.count();
                records.forEach(r -> byTopic.merge(r.topic().replace(changelogPrefix, ""), 1L, Long::sum));
                count += n;
                idle = n == 0 ? idle + 1 : 0;
            }
            if (Boolean.getBoolean("bench.by.topic")) {
                System.out.println("records by topic: " + byTopic);
            }
        }
        return count;
    }
}

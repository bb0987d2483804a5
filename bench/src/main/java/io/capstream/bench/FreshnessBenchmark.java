package io.capstream.bench;

import io.capstream.aggregator.AggregatorConfig;
import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementConfig;
import io.capstream.enforcement.EnforcementService;
import io.capstream.ingest.IngestConfig;
import io.capstream.ingest.IngestService;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.runtime.ApiKeys;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.TopicView;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.ApicurioRegistry;
import io.capstream.testkit.KafkaCluster;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Freshness: from the moment ingest acknowledges an event (202) to the moment the enforcement
 * sidecar's local state holds the new running total, through the real pipeline (ingest → broker →
 * exactly-once aggregator → usage-aggregates → sidecar). Baseline in the same run: a record
 * produced with acks=all and seen by the same kind of topic view, straight through the broker.
 * Usage: {@code FreshnessBenchmark [events]} (default 200).
 */
public final class FreshnessBenchmark {
    private FreshnessBenchmark() {}

    public static void main(String[] args) throws Exception {
        int events = args.length > 0 ? Integer.parseInt(args[0]) : 200;
        Path work = Files.createTempDirectory("capstream-freshness");
        try (KafkaCluster kafka = KafkaCluster.start(); ApicurioRegistry registry = ApicurioRegistry.start(work.resolve("registry.log"))) {
            Topics topics = new Topics("fresh.");
            kafka.createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
            kafka.createTopics(List.of(new org.apache.kafka.clients.admin.NewTopic("fresh.baseline", 1, (short) 1)));
            SchemaRegistryClient client = new SchemaRegistryClient(registry.url());
            Map<String, Object> kafkaProps = Map.of("bootstrap.servers", kafka.bootstrapServers());
            try (PolicyPublisher publisher = new PolicyPublisher(kafkaProps, client, true, topics)) {
                publisher.publish(CheckBenchmark.POLICY, Instant.now());
            }
            Path keys = work.resolve("keys.txt");
            Files.writeString(keys, "bench sha256:" + ApiKeys.hash("bench-key") + " admin\n");
            Map<String, String> common = Map.of("bootstrap.servers", kafka.bootstrapServers(), "schema.registry.url", registry.url(),
                    "auto.register.schemas", "true", "topic.prefix", topics.prefix(), "http.host", "127.0.0.1", "http.port", "0",
                    "api.keys.file", keys.toString(), "secret.keys", io.capstream.testkit.TestSecrets.KEYS);
            Map<String, String> aggregatorConfig = new java.util.HashMap<>(common);
            aggregatorConfig.put(AggregatorConfig.STATE_DIR, work.resolve("state").toString());
            aggregatorConfig.put(AggregatorConfig.ADVERTISED_HOST, "127.0.0.1");
            try (IngestService ingest = new IngestService(IngestConfig.from(common), Clock.systemUTC());
                 AggregatorService aggregator = new AggregatorService(AggregatorConfig.from(aggregatorConfig), Clock.systemUTC());
                 EnforcementService sidecar = new EnforcementService(EnforcementConfig.from(common), Clock.systemUTC())) {
                while (aggregator.streams().state() != org.apache.kafka.streams.KafkaStreams.State.RUNNING || !sidecar.enforcer().ready()) {
                    Thread.sleep(50);
                }
                long[] pipeline = pipeline(ingest, sidecar, events);
                long[] baseline = baseline(kafka, events);
                System.out.printf(Locale.ROOT, "%nFreshness over %d events (aggregator commit interval 100 ms), %d cores%n"
                                + "| path | p50 ms | p99 ms | max ms |%n|---|---:|---:|---:|%n"
                                + "| raw: produce (acks=all) → topic view sees it | %.1f | %.1f | %.1f |%n"
                                + "| ingest 202 → aggregator (exactly-once) → sidecar's state has the new total | %.1f | %.1f | %.1f |%n",
                        events, Runtime.getRuntime().availableProcessors(), ms(baseline, 0.5), ms(baseline, 0.99), ms(baseline, 1.0),
                        ms(pipeline, 0.5), ms(pipeline, 0.99), ms(pipeline, 1.0));
            }
        }
    }

    private static long[] pipeline(IngestService ingest, EnforcementService sidecar, int events) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        Instant periodStart = ResetSchedule.parse("billing").periodAt(Instant.now(), ZoneOffset.UTC).start();
        String key = "fresh_cus|cap:monthly-spend|" + periodStart;
        long[] latencies = new long[events];
        BigDecimal expected = BigDecimal.ZERO;
        for (int i = 0; i < events; i++) {
            // 1,000 input tokens of gpt-4o-mini: $0.00015 each
            String event = "{\"id\": \"f" + i + "\", \"customer\": \"fresh_cus\", \"feature\": \"chat\", \"model\": \"gpt-4o-mini\","
                    + " \"usage\": {\"input_tokens\": 1000}}";
            HttpResponse<Void> r = http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ingest.port() + "/v1/events"))
                    .header("Authorization", "Bearer bench-key").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(event)).build(), HttpResponse.BodyHandlers.discarding());
            long accepted = System.nanoTime();
            if (r.statusCode() != 202) {
                throw new IllegalStateException("ingest answered " + r.statusCode());
            }
            expected = expected.add(new BigDecimal("0.00015"));
            while (sidecar.enforcer().knownTotal(key).orElse(BigDecimal.ZERO).compareTo(expected) < 0) {
                Thread.onSpinWait();
            }
            latencies[i] = System.nanoTime() - accepted;
        }
        return latencies;
    }

    private static long[] baseline(KafkaCluster kafka, int events) throws Exception {
        long[] latencies = new long[events];
        Map<String, Object> props = Map.of("bootstrap.servers", kafka.bootstrapServers(), "acks", "all");
        try (KafkaProducer<String, String> producer = new KafkaProducer<>(props, new StringSerializer(), new StringSerializer());
             TopicView<String> view = new TopicView<>("fresh.baseline", Map.of("bootstrap.servers", kafka.bootstrapServers()), new StringDeserializer())) {
            while (!view.caughtUp()) {
                Thread.sleep(20);
            }
            for (int i = 0; i < events; i++) {
                producer.send(new ProducerRecord<>("fresh.baseline", "k", Integer.toString(i))).get();
                long acked = System.nanoTime();
                String want = Integer.toString(i);
                while (!view.get("k").map(want::equals).orElse(false)) {
                    Thread.onSpinWait();
                }
                latencies[i] = System.nanoTime() - acked;
            }
        }
        return latencies;
    }

    private static double ms(long[] values, double p) {
        long[] sorted = values.clone();
        Arrays.sort(sorted);
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }
}

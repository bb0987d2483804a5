package io.capstream.bench;

import io.capstream.aggregator.AggregatorConfig;
import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementConfig;
import io.capstream.enforcement.EnforcementService;
import io.capstream.ingest.IngestConfig;
import io.capstream.ingest.IngestService;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.Json;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.topics.PolicyPublisher;
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
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;

/**
 * Overshoot: 64 concurrent clients spread over 3 enforcement sidecars spend against one customer's
 * $10 cap — check, then report the usage of what was allowed — until the cap refuses them. What was
 * admitted beyond $10 is the overshoot, once with the cap in default mode (local state plus pending
 * estimates per sidecar) and once in strict mode (reservations at the owning aggregator).
 */
public final class OvershootBenchmark {
    static final String POLICY = """
            models:
              gpt-4o: {tier: premium, prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
            plans:
              pro: {price: "20"}
            default_plan: pro
            """;
    static final BigDecimal REQUEST_COST = new BigDecimal("0.05"); // 20,000 input tokens of gpt-4o

    private OvershootBenchmark() {}

    public static void main(String[] args) throws Exception {
        Path work = Files.createTempDirectory("capstream-overshoot");
        try (KafkaCluster kafka = KafkaCluster.start(); ApicurioRegistry registry = ApicurioRegistry.start(work.resolve("registry.log"))) {
            Topics topics = new Topics("over.");
            kafka.createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
            try (PolicyPublisher publisher = new PolicyPublisher(Map.of("bootstrap.servers", kafka.bootstrapServers()),
                    new SchemaRegistryClient(registry.url()), true, topics)) {
                publisher.publish(POLICY, Instant.now());
            }
            Path keys = work.resolve("keys.txt");
            Files.writeString(keys, "bench sha256:" + ApiKeys.hash("bench-key") + " admin\n");
            Map<String, String> common = Map.of("bootstrap.servers", kafka.bootstrapServers(), "schema.registry.url", registry.url(),
                    "auto.register.schemas", "true", "topic.prefix", topics.prefix(), "http.host", "127.0.0.1", "http.port", "0",
                    "api.keys.file", keys.toString(), "secret.keys", io.capstream.testkit.TestSecrets.KEYS);
            Map<String, String> aggregatorConfig = new HashMap<>(common);
            aggregatorConfig.put(AggregatorConfig.STATE_DIR, work.resolve("state").toString());
            aggregatorConfig.put(AggregatorConfig.ADVERTISED_HOST, "127.0.0.1");
            try (IngestService ingest = new IngestService(IngestConfig.from(common), Clock.systemUTC());
                 AggregatorService aggregator = new AggregatorService(AggregatorConfig.from(aggregatorConfig), Clock.systemUTC())) {
                Map<String, String> sidecarConfig = new HashMap<>(common);
                sidecarConfig.put(EnforcementConfig.AGGREGATOR_URL, "http://127.0.0.1:" + aggregator.port());
                sidecarConfig.put(EnforcementConfig.AGGREGATOR_KEY, "bench-key");
                sidecarConfig.put(EnforcementConfig.RESERVE_TIMEOUT_MS, "2000");
                List<EnforcementService> sidecars = List.of(sidecar(sidecarConfig), sidecar(sidecarConfig), sidecar(sidecarConfig));
                try {
                    while (aggregator.streams().state() != org.apache.kafka.streams.KafkaStreams.State.RUNNING
                            || !sidecars.stream().allMatch(s -> s.enforcer().ready())) {
                        Thread.sleep(50);
                    }
                    String defaultMode = run(ingest, sidecars, "default_co", false);
                    String strictMode = run(ingest, sidecars, "strict_co", true);
                    Map<String, String> production = new HashMap<>(sidecarConfig);
                    String burstTimeout = System.getProperty("overshoot.reserveTimeoutMs", "100"); // the default: 100 ms
                    production.put(EnforcementConfig.RESERVE_TIMEOUT_MS, burstTimeout);
                    String bursts;
                    try (EnforcementService sidecar = sidecar(production)) {
                        bursts = bursts(ingest, sidecar, burstTimeout);
                    }
                    System.out.printf("%n64 clients, 3 sidecars, one customer, $10.00 cap, $0.05 per request, %d cores%n%s%n%s%n%s%n",
                            Runtime.getRuntime().availableProcessors(), defaultMode, strictMode, bursts);
                } finally {
                    sidecars.forEach(EnforcementService::close);
                }
            }
        }
    }

    static EnforcementService sidecar(Map<String, String> config) {
        return new EnforcementService(EnforcementConfig.from(config), Clock.systemUTC());
    }

    private static String run(IngestService ingest, List<EnforcementService> sidecars, String customer, boolean strict) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        send(http, "PUT", "http://127.0.0.1:" + ingest.port() + "/v1/customers/" + customer + "/caps/budget",
                "{\"amount\": \"10.00\", \"strict\": " + strict + "}");
        // wait until every sidecar knows the cap
        String probe = "{\"customer\": \"" + customer + "\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"0\"}}";
        for (EnforcementService s : sidecars) {
            while (!send(http, "POST", "http://127.0.0.1:" + s.port() + "/v1/check", probe).body().contains(strict ? "reservation_id" : "\"allow\"")) {
                Thread.sleep(20);
            }
        }
        AtomicInteger admitted = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        AtomicInteger sequence = new AtomicInteger();
        AtomicReference<Exception> failure = new AtomicReference<>();
        List<Thread> clients = new ArrayList<>();
        long started = System.nanoTime();
        for (int c = 0; c < 64; c++) {
            int client = c;
            clients.add(Thread.ofPlatform().start(() -> {
                try {
                    int refusalsInARow = 0;
                    while (refusalsInARow < 5 && System.nanoTime() - started < Duration.ofSeconds(60).toNanos()) {
                        EnforcementService sidecar = sidecars.get((client + sequence.getAndIncrement()) % sidecars.size());
                        HttpResponse<String> answer = send(http, "POST", "http://127.0.0.1:" + sidecar.port() + "/v1/check",
                                "{\"customer\": \"" + customer + "\", \"feature\": \"chat\", \"model\": \"gpt-4o\", \"estimate\": {\"input_tokens\": 20000}}");
                        if (answer.statusCode() != 200) {
                            refused.incrementAndGet();
                            refusalsInARow++;
                            Thread.sleep(100);
                            continue;
                        }
                        refusalsInARow = 0;
                        admitted.incrementAndGet();
                        String reservation = Json.MAPPER.readTree(answer.body()).path("reservation_id").asText("");
                        String event = "{\"id\": \"" + customer + "-" + client + "-" + System.nanoTime() + "\", \"customer\": \"" + customer
                                + "\", \"feature\": \"chat\", \"model\": \"gpt-4o\", \"usage\": {\"input_tokens\": 20000}"
                                + (reservation.isEmpty() ? "" : ", \"reservation_id\": \"" + reservation + "\"") + "}";
                        if (send(http, "POST", "http://127.0.0.1:" + ingest.port() + "/v1/events", event).statusCode() != 202) {
                            throw new IllegalStateException("ingest refused the usage");
                        }
                    }
                } catch (Exception e) {
                    failure.compareAndSet(null, e);
                }
            }));
        }
        for (Thread t : clients) {
            t.join();
        }
        if (failure.get() != null) {
            throw failure.get();
        }
        BigDecimal spent = REQUEST_COST.multiply(BigDecimal.valueOf(admitted.get()));
        BigDecimal over = spent.subtract(BigDecimal.TEN).max(BigDecimal.ZERO);
        return String.format(Locale.ROOT, "| %s | %d admitted | $%s spent | overshoot $%s (%d requests beyond the cap) | %d refusals |",
                strict ? "strict" : "default", admitted.get(), spent.toPlainString(), over.toPlainString(),
                over.divide(REQUEST_COST).intValue(), refused.get());
    }

    /**
     * The strict burst: 48 checks of $0.10 sent at the same moment to one sidecar (production reservation timeout)
     * against a fresh customer's $1.00 strict cap that fails closed, 20 times after 20 warm-up bursts; exactly 10
     * must be admitted each time and none answered 503.
     */
    private static String bursts(IngestService ingest, EnforcementService sidecar, String timeoutMs) throws Exception {
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
        int runs = 20;
        for (int run = 0; run < runs; run++) {
            for (String customer : List.of("burst" + run, "warm" + run)) {
                send(http, "PUT", "http://127.0.0.1:" + ingest.port() + "/v1/customers/" + customer + "/caps/hard",
                        "{\"amount\": \"1.00\", \"strict\": true, \"fail_open\": false}");
            }
        }
        for (int run = 0; run < runs; run++) {
            for (String customer : List.of("burst" + run, "warm" + run)) {
                String probe = "{\"customer\": \"" + customer + "\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"0\"}}";
                while (!send(http, "POST", "http://127.0.0.1:" + sidecar.port() + "/v1/check", probe).body().contains("\"reservation_id\":\"res_")) {
                    Thread.sleep(20);
                }
            }
        }
        java.util.concurrent.ExecutorService pool = java.util.concurrent.Executors.newFixedThreadPool(48);
        try {
            for (int run = 0; run < runs; run++) {
                burst(http, pool, sidecar, "warm" + run);
            }
            int exact = 0;
            int unavailable = 0;
            List<String> outcomes = new ArrayList<>();
            for (int run = 0; run < runs; run++) {
                int[] answers = burst(http, pool, sidecar, "burst" + run);
                exact += answers[200] == 10 && answers[402] == 38 ? 1 : 0;
                unavailable += answers[503];
                outcomes.add(answers[200] + "/" + answers[402] + "/" + answers[503]);
            }
            return String.format(Locale.ROOT, "strict burst (48 checks of $0.10 at once, $1.00 cap failing closed, reserve.timeout.ms %s): "
                    + "exactly 10 admitted in %d of %d runs, %d answers 503 (allowed/402/503 per run: %s)", timeoutMs, exact, runs, unavailable,
                    String.join(" ", outcomes));
        } finally {
            pool.shutdown();
        }
    }

    private static int[] burst(HttpClient http, java.util.concurrent.ExecutorService pool, EnforcementService sidecar, String customer)
            throws Exception {
        String check = "{\"customer\": \"" + customer + "\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"0.10\"}}";
        java.util.concurrent.CountDownLatch go = new java.util.concurrent.CountDownLatch(1);
        List<java.util.concurrent.Future<HttpResponse<String>>> answers = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            answers.add(pool.submit(() -> {
                go.await();
                return send(http, "POST", "http://127.0.0.1:" + sidecar.port() + "/v1/check", check);
            }));
        }
        go.countDown();
        int[] byStatus = new int[600];
        for (var a : answers) {
            byStatus[a.get().statusCode()]++;
        }
        return byStatus;
    }

    private static HttpResponse<String> send(HttpClient http, String method, String url, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer bench-key")
                .header("Content-Type", "application/json").method(method, HttpRequest.BodyPublishers.ofString(body)).build(),
                HttpResponse.BodyHandlers.ofString());
    }
}

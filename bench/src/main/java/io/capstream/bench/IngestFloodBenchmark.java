package io.capstream.bench;

import io.capstream.ingest.IngestConfig;
import io.capstream.ingest.IngestService;
import io.capstream.runtime.ApiKeys;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.ApicurioRegistry;
import io.capstream.testkit.KafkaCluster;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The worst a customer's own ingest key ({@code ingest:<customer>}) can send: full batches as fast as the server answers
 * (closed loop on purpose: an attacker's most), from {@code SENDERS} threads, to an ingest with the per-customer event rate
 * off ({@code events.per.second=0}) and on (the default), on a real broker and registry. Each batch is 1000 events of the
 * largest fields ({@code user} and {@code api_key} of 256 characters): valid ones, and invalid ones (the last event's usage
 * negative, so the whole batch is parsed and checked before the 400). Baseline in the same run: the same bodies with an
 * unknown key (401), which costs moving the bytes and the generator. Prints, per case, the answers by status, the requests
 * and events a second, and the process's cores and CPU per request (the generator and the in-process broker included).
 * Usage: {@code IngestFloodBenchmark [seconds]} (default 10 per case).
 */
public final class IngestFloodBenchmark {
    private static final String CUSTOMER = "cus_flood";
    private static final int SENDERS = 4;

    private IngestFloodBenchmark() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        Path work = Files.createTempDirectory("capstream-ingest-flood");
        try (KafkaCluster kafka = KafkaCluster.start(); ApicurioRegistry registry = ApicurioRegistry.start(work.resolve("registry.log"))) {
            Topics topics = new Topics("flood.");
            kafka.createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
            Path keys = work.resolve("keys.txt");
            Files.writeString(keys, "flood sha256:" + ApiKeys.hash("flood-key") + " ingest:" + CUSTOMER + "\n");
            Map<String, String> common = BenchServices.common(kafka, registry, topics, keys);
            Map<String, String> off = new HashMap<>(common);
            off.put(IngestConfig.EVENTS_PER_SECOND, "0");
            byte[] valid = batch(false);
            byte[] invalid = batch(true);
            System.out.printf(Locale.ROOT, "%nOne customer's own ingest key, batches of 1000 events (%,d bytes), %d senders, %d s per case, %d cores%n",
                    valid.length, SENDERS, seconds, Runtime.getRuntime().availableProcessors());
            try (IngestService unlimited = new IngestService(IngestConfig.from(off), Clock.systemUTC());
                 IngestService limited = new IngestService(IngestConfig.from(common), Clock.systemUTC())) {
                HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).build();
                flood(http, unlimited.port(), "wrong-key", valid, 3, null); // warm-up, unmeasured
                flood(http, unlimited.port(), "flood-key", valid, 3, null);
                flood(http, unlimited.port(), "wrong-key", valid, seconds, "baseline: unknown key (401), same bodies");
                flood(http, unlimited.port(), "flood-key", valid, seconds, "valid batches, no event rate");
                flood(http, limited.port(), "flood-key", valid, seconds, "valid batches, events.per.second 10000");
                flood(http, unlimited.port(), "flood-key", invalid, seconds, "invalid batches, no event rate");
                flood(http, limited.port(), "flood-key", invalid, seconds, "invalid batches, events.per.second 10000");
            }
        }
    }

    /** {@code SENDERS} threads posting {@code body} again and again for {@code seconds}; prints what it cost when {@code label} is set. */
    private static void flood(HttpClient http, int port, String key, byte[] body, int seconds, String label) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/events"))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofByteArray(body)).build();
        Map<Integer, AtomicLong> statuses = new ConcurrentHashMap<>();
        long end = System.nanoTime() + Duration.ofSeconds(seconds).toNanos();
        long cpu0 = ThroughputBenchmark.processCpu();
        long start = System.nanoTime();
        Thread[] senders = new Thread[SENDERS];
        for (int i = 0; i < SENDERS; i++) {
            senders[i] = Thread.ofPlatform().name("flood-" + i).start(() -> {
                while (System.nanoTime() < end) {
                    try {
                        int status = http.send(request, HttpResponse.BodyHandlers.discarding()).statusCode();
                        statuses.computeIfAbsent(status, s -> new AtomicLong()).incrementAndGet();
                    } catch (Exception e) {
                        statuses.computeIfAbsent(-1, s -> new AtomicLong()).incrementAndGet();
                    }
                }
            });
        }
        for (Thread t : senders) {
            t.join();
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        long cpu = ThroughputBenchmark.processCpu() - cpu0;
        long requests = statuses.values().stream().mapToLong(AtomicLong::get).sum();
        if (label != null) {
            Map<Integer, Long> byStatus = new TreeMap<>();
            statuses.forEach((s, n) -> byStatus.put(s, n.get()));
            long accepted = byStatus.getOrDefault(202, 0L);
            System.out.printf(Locale.ROOT, "%s: answers %s, %.0f requests/s, %,.0f events/s accepted, process %.2f cores, %.2f ms CPU/request%n",
                    label, byStatus, requests / elapsed, accepted * 1000 / elapsed, cpu / 1e9 / elapsed, requests == 0 ? 0 : cpu / 1e6 / requests);
        }
    }

    /** 1000 events of {@link #CUSTOMER} with the longest user and API key; with {@code invalid}, the last one's usage is negative. */
    static byte[] batch(boolean invalid) {
        String user = "u".repeat(256);
        String apiKey = "k".repeat(256);
        StringBuilder json = new StringBuilder("[");
        for (int i = 0; i < 1000; i++) {
            if (i > 0) {
                json.append(',');
            }
            json.append("{\"id\":\"flood-").append(i).append("\",\"customer\":\"").append(CUSTOMER)
                    .append("\",\"feature\":\"chat\",\"model\":\"gpt-4o\",\"user\":\"").append(user).append("\",\"api_key\":\"").append(apiKey)
                    .append("\",\"usage\":{\"input_tokens\":").append(invalid && i == 999 ? -1 : 1200).append(",\"output_tokens\":350}}");
        }
        return json.append(']').toString().getBytes(StandardCharsets.UTF_8);
    }
}

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
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.admin.Admin;

/**
 * Live traffic: events for 1,000 customers, spread evenly, sent through ingest over HTTP at a fixed
 * offered rate (open loop: each batch leaves at its scheduled time whether or not earlier ones were
 * answered), stepped up until freshness fails. Freshness is measured by probe events of one more
 * customer sent 20 times a second within the traffic: from ingest's 202 to the moment the enforcement
 * sidecar's local state holds the probe's new running total. Ingest, the exactly-once aggregator
 * (production settings, commit interval 100 ms) and the sidecar run in this process on a real broker
 * and registry. Prints one line per rate and the highest rate whose freshness p99 is at most 500 ms,
 * then the records the aggregator produced per event over the whole run.
 * Usage: {@code LiveTrafficBenchmark [seconds per step] [rates...]} (defaults 10 and 1000 2000 4000 8000 12000 16000 20000 24000 28000; a ramp: the JIT and caches warm up on the way).
 */
public final class LiveTrafficBenchmark {
    private static final int CUSTOMERS = 1_000;
    private static final int BATCH = 20;
    private static final long PROBE_INTERVAL_NS = 50_000_000L;
    private static final String[] FEATURES = {"chat", "drafts", "search"};

    private LiveTrafficBenchmark() {}

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int[] rates = args.length > 1 ? Arrays.stream(args).skip(1).mapToInt(Integer::parseInt).toArray()
                : new int[] {1000, 2000, 4000, 8000, 12000, 16000, 20000, 24000, 28000};
        Path work = Files.createTempDirectory("capstream-live");
        try (KafkaCluster kafka = KafkaCluster.start(); ApicurioRegistry registry = ApicurioRegistry.start(work.resolve("registry.log"))) {
            Topics topics = new Topics("live.");
            kafka.createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
            SchemaRegistryClient client = new SchemaRegistryClient(registry.url());
            try (PolicyPublisher publisher = new PolicyPublisher(Map.of("bootstrap.servers", kafka.bootstrapServers()), client, true, topics)) {
                publisher.publish(CheckBenchmark.POLICY, Instant.now());
            }
            Path keys = work.resolve("keys.txt");
            Files.writeString(keys, "bench sha256:" + ApiKeys.hash("bench-key") + " admin\n");
            Map<String, String> common = BenchServices.common(kafka, registry, topics, keys);
            Map<String, String> aggregatorConfig = BenchServices.aggregator(common, work, "live-aggregator");
            // -Dlive.series=false measures a deployment that keeps no usage series (docs/performance.md)
            aggregatorConfig.put(AggregatorConfig.SERIES_ENABLED, System.getProperty("live.series", "true"));
            // -Dlive.commit.interval.ms=N measures another exactly-once commit interval (production default 100)
            aggregatorConfig.put(AggregatorConfig.COMMIT_INTERVAL_MS, System.getProperty("live.commit.interval.ms", "100"));
            try (IngestService ingest = new IngestService(IngestConfig.from(common), Clock.systemUTC());
                 AggregatorService aggregator = new AggregatorService(AggregatorConfig.from(aggregatorConfig), Clock.systemUTC());
                 EnforcementService sidecar = new EnforcementService(EnforcementConfig.from(common), Clock.systemUTC());
                 Admin admin = kafka.admin()) {
                while (aggregator.streams().state() != org.apache.kafka.streams.KafkaStreams.State.RUNNING || !sidecar.enforcer().ready()) {
                    Thread.sleep(50);
                }
                Run run = new Run(ingest.port(), sidecar);
                run.step(2000, 20); // warm-up (JIT, caches), not reported
                System.out.printf(Locale.ROOT, "%nLive traffic through ingest, %d customers, batches of %d, %d s per rate, %d cores, commit interval %s ms%n",
                        CUSTOMERS, BATCH, seconds, Runtime.getRuntime().availableProcessors(), aggregatorConfig.get(AggregatorConfig.COMMIT_INTERVAL_MS));
                int best = 0;
                for (int rate : rates) {
                    Step s = run.step(rate, seconds);
                    System.out.printf(Locale.ROOT, "live at %d/s: achieved %.0f/s, freshness p50 %.0f ms, p99 %.0f ms, max %.0f ms, "
                                    + "stream thread %.1f us/event, load generator %.0f %% of a core, whole process %.2f cores%n",
                            rate, s.achieved, s.p50, s.p99, s.max, s.streamUsPerEvent, s.generatorShare * 100, s.processCores);
                    if (s.p99 <= 500 && s.achieved >= rate * 0.95) {
                        best = rate;
                    } else {
                        break;
                    }
                }
                Thread.sleep(2000);
                long produced = ThroughputBenchmark.countRecords(kafka, admin, "live-aggregator-", topics.usageAggregates());
                System.out.printf(Locale.ROOT, "live: highest rate with freshness p99 <= 500 ms: %d events/s; %.2f records/event over the run%n",
                        best, (double) produced / run.accepted.get());
            }
        }
    }

    private record Step(double achieved, double p50, double p99, double max, double streamUsPerEvent, double generatorShare,
                        double processCores) {}

    private static final class Run {
        final HttpClient http = HttpClient.newBuilder().executor(Runnable::run).build();
        final URI events;
        final EnforcementService sidecar;
        final String probeKey;
        final AtomicLong accepted = new AtomicLong();
        final AtomicLong failed = new AtomicLong();
        BigDecimal probeTotal = BigDecimal.ZERO;
        long sequence;

        Run(int ingestPort, EnforcementService sidecar) {
            this.events = URI.create("http://127.0.0.1:" + ingestPort + "/v1/events");
            this.sidecar = sidecar;
            Instant periodStart = ResetSchedule.parse("billing").periodAt(Instant.now(), ZoneOffset.UTC).start();
            this.probeKey = "probe|cap:monthly-spend|" + periodStart;
            Thread.ofPlatform().daemon().name("live-probe-watcher").start(this::watch);
        }

        Step step(int rate, int seconds) throws Exception {
            long acceptedBefore = accepted.get();
            long streamCpu0 = ThroughputBenchmark.cpuOfThreads(ThroughputBenchmark::isStreamThread);
            long[] generatorCpu = new long[1];
            long processCpu0 = ThroughputBenchmark.processCpu();
            long clientCpu0 = ThroughputBenchmark.cpuOfThreads(name -> name.contains("HttpClient"));
            List<Probe> probes = new ArrayList<>();
            long start = System.nanoTime();
            long end = start + seconds * 1_000_000_000L;
            Thread generator = Thread.ofPlatform().name("live-generator").start(() -> {
                long interval = 1_000_000_000L * BATCH / rate;
                for (long k = 0, at = start; at < end; k++, at = start + k * interval) {
                    LockSupport.parkNanos(at - System.nanoTime());
                    send(batch());
                }
                generatorCpu[0] = java.lang.management.ManagementFactory.getThreadMXBean().getCurrentThreadCpuTime();
            });
            for (long at = start; at < end; at += PROBE_INTERVAL_NS) {
                LockSupport.parkNanos(at - System.nanoTime());
                probes.add(probe());
            }
            generator.join();
            long elapsed = System.nanoTime() - start;
            long events = accepted.get() - acceptedBefore;
            double streamCpu = ThroughputBenchmark.cpuOfThreads(ThroughputBenchmark::isStreamThread) - streamCpu0;
            double processCpu = ThroughputBenchmark.processCpu() - processCpu0;
            double loadCpu = generatorCpu[0] + ThroughputBenchmark.cpuOfThreads(name -> name.contains("HttpClient")) - clientCpu0;
            for (Probe p : probes) { // the last probes may still be on their way
                while (p.seenAt.get() == 0) {
                    LockSupport.parkNanos(100_000);
                }
            }
            long[] latencies = probes.stream().mapToLong(p -> p.seenAt.get() - p.acceptedAt).sorted().toArray();
            return new Step(events / (elapsed / 1e9), pct(latencies, 0.5), pct(latencies, 0.99), pct(latencies, 1.0),
                    streamCpu / 1e3 / Math.max(1, events), loadCpu / elapsed, processCpu / elapsed);
        }

        private String batch() {
            StringBuilder json = new StringBuilder(BATCH * 150).append('[');
            for (int i = 0; i < BATCH; i++) {
                long n = sequence++;
                if (i > 0) {
                    json.append(',');
                }
                json.append("{\"id\":\"l").append(n).append("\",\"customer\":\"live_").append(n % CUSTOMERS)
                        .append("\",\"feature\":\"").append(FEATURES[(int) (n / CUSTOMERS % FEATURES.length)])
                        .append("\",\"model\":\"gpt-4o-mini\",\"usage\":{\"input_tokens\":").append(1 + n % 4000).append("}}");
            }
            return json.append(']').toString();
        }

        private void send(String body) {
            http.sendAsync(request(body), HttpResponse.BodyHandlers.discarding()).whenComplete((r, e) -> {
                if (e == null && r.statusCode() == 202) {
                    accepted.addAndGet(BATCH);
                } else {
                    failed.incrementAndGet();
                }
            });
        }

        /** A probe event: when ingest accepted it, and when the sidecar's state held its total (0 until then). */
        private record Probe(long acceptedAt, AtomicLong seenAt) {}

        /** A probe whose total the sidecar does not hold yet. */
        private record Pending(Probe probe, BigDecimal total) {}

        private final java.util.concurrent.ConcurrentLinkedQueue<Pending> pending = new java.util.concurrent.ConcurrentLinkedQueue<>();

        /** One thread, every millisecond: the probes (in order, totals rising) whose total the sidecar now holds. */
        private void watch() {
            while (true) {
                BigDecimal known = sidecar.enforcer().knownTotal(probeKey).orElse(BigDecimal.ZERO);
                long now = System.nanoTime();
                for (Pending p = pending.peek(); p != null && known.compareTo(p.total()) >= 0; p = pending.peek()) {
                    p.probe().seenAt().set(now);
                    pending.poll();
                }
                LockSupport.parkNanos(1_000_000);
            }
        }

        /** Sends one probe event ($0.00015); {@link #watch} notes when the sidecar's state holds its total. */
        private Probe probe() throws Exception {
            long n = sequence++;
            String body = "{\"id\":\"p" + n + "\",\"customer\":\"probe\",\"feature\":\"chat\",\"model\":\"gpt-4o-mini\",\"usage\":{\"input_tokens\":1000}}";
            HttpResponse<Void> r = http.send(request(body), HttpResponse.BodyHandlers.discarding());
            Probe probe = new Probe(System.nanoTime(), new AtomicLong());
            if (r.statusCode() != 202) {
                throw new IllegalStateException("ingest answered " + r.statusCode() + " to a probe");
            }
            probeTotal = probeTotal.add(new BigDecimal("0.00015"));
            pending.add(new Pending(probe, probeTotal));
            return probe;
        }

        private HttpRequest request(String body) {
            return HttpRequest.newBuilder(events).header("Authorization", "Bearer bench-key").header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        }
    }

    private static double pct(long[] sorted, double p) {
        return sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }
}

package io.capstream.bench;

import io.capstream.enforcement.EnforcementConfig;
import io.capstream.enforcement.EnforcementService;
import io.capstream.policy.customer.Customer;
import io.capstream.runtime.ApiKeys;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.ApicurioRegistry;
import io.capstream.testkit.FreePort;
import io.capstream.testkit.KafkaCluster;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The sidecar's {@code POST /v1/check} at fixed offered rates. The sidecar runs in its own JVM (as
 * deployed: {@code EnforcementService}, Serial GC unless {@code -Dsidecar.gc=G1} or {@code ZGC}), so its CPU per check is
 * its process's CPU time over the requests; the open-loop {@link LoadGenerator} runs in another
 * process; the broker and registry in this one. Next to it, in the same run and at each rate: the
 * floor, the same generator against a server that answers without doing anything ({@link LoopbackServer},
 * its own process). Prints one line per rate, then the
 * highest rate whose p99 is at most 2 ms. {@code -Dsidecar.jvm="..."} adds JVM options to the sidecar
 * (a flight recording, another heap size).
 * Usage: {@code SidecarBenchmark [seconds] [rates...]} (defaults 10 and 10000 20000 30000 40000).
 */
public final class SidecarBenchmark {
    private SidecarBenchmark() {}

    /**
     * {@link CheckBenchmark#POLICY} with amounts no run reaches: every allowed check's estimate counts
     * locally for 10 s, and at 30,000 checks/s of $0.007 the benchmark's small allowance would turn every
     * answer into a warning, then a refusal. Measured here is the common answer, a plain allow; a warning
     * or a refusal costs more (limit details in the body, a decision-log record a second).
     */
    static final String POLICY = CheckBenchmark.POLICY.replace("included: \"10\"", "included: \"100000000\"")
            .replace("amount: \"1000\"", "amount: \"100000000\"");

    public static void main(String[] args) throws Exception {
        int seconds = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int[] rates = args.length > 1 ? Arrays.stream(args).skip(1).mapToInt(Integer::parseInt).toArray() : new int[] {10000, 20000, 30000, 40000};
        String gc = System.getProperty("sidecar.gc", "Serial");
        Path work = Files.createTempDirectory("capstream-sidecar-bench");
        try (KafkaCluster kafka = KafkaCluster.start(); ApicurioRegistry registry = ApicurioRegistry.start(work.resolve("registry.log"))) {
            Topics topics = new Topics("bench.");
            kafka.createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
            SchemaRegistryClient client = new SchemaRegistryClient(registry.url());
            Map<String, Object> props = Map.of("bootstrap.servers", kafka.bootstrapServers());
            try (PolicyPublisher publisher = new PolicyPublisher(props, client, true, topics)) {
                publisher.publish(POLICY, Instant.now());
            }
            try (KafkaProducer<String, CustomerRecord> producer = new KafkaProducer<>(props, new StringSerializer(),
                    RegistryAvroSerde.of(CustomerRecord.class, client, true))) {
                producer.send(new ProducerRecord<>(topics.customers(), "acme", CustomerMapping.toRecord(Customer.unconfigured("acme", "pro"), Instant.now()))).get();
            }
            Path keys = work.resolve("keys.txt");
            Files.writeString(keys, "bench sha256:" + ApiKeys.hash("bench-key") + " check\n");
            int port = FreePort.pick();
            Properties config = new Properties();
            config.putAll(Map.of(EnforcementConfig.BOOTSTRAP_SERVERS, kafka.bootstrapServers(), RegistryAvroSerde.REGISTRY_URL, registry.url(),
                    RegistryAvroSerde.AUTO_REGISTER, "true", EnforcementConfig.TOPIC_PREFIX, topics.prefix(),
                    EnforcementConfig.HTTP_HOST, "127.0.0.1", EnforcementConfig.HTTP_PORT, Integer.toString(port),
                    EnforcementConfig.API_KEYS_FILE, keys.toString()));
            Path configFile = work.resolve("sidecar.properties");
            try (OutputStream out = Files.newOutputStream(configFile)) {
                config.store(out, "sidecar benchmark");
            }
            String java = ProcessHandle.current().info().command().orElse("java");
            List<String> command = new ArrayList<>(pinned("sidecar.cpus"));
            command.addAll(List.of(java, "-Xmx512m", "-XX:+Use" + (gc.endsWith("GC") ? gc : gc + "GC")));
            // extra JVM options for the sidecar, e.g. -Dsidecar.jvm=-XX:StartFlightRecording=filename=sidecar.jfr,settings=profile
            command.addAll(Arrays.stream(System.getProperty("sidecar.jvm", "").split(" ")).filter(a -> !a.isBlank()).toList());
            command.addAll(List.of("-cp", System.getProperty("java.class.path"), EnforcementService.class.getName(), configFile.toString()));
            Process sidecar = new ProcessBuilder(command)
                    .redirectErrorStream(true).redirectOutput(work.resolve("sidecar.log").toFile()).start();
            try {
                String base = "http://127.0.0.1:" + port;
                awaitReady(base);
                String body = "{\"customer\": \"acme\", \"user\": \"alice\", \"api_key\": \"key_1\", \"feature\": \"chat\", \"model\": \"gpt-4o\","
                        + " \"estimate\": {\"input_tokens\": 1200, \"output_tokens\": 400}}";
                generate(base + "/v1/check", "POST", 5_000, 5, body); // warm-up (JIT), not reported
                int floorPort = FreePort.pick();
                String floorUrl = "http://127.0.0.1:" + floorPort + "/v1/check";
                List<String> floorCommand = new ArrayList<>(pinned("sidecar.cpus"));
                floorCommand.addAll(List.of(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), LoopbackServer.class.getName(),
                        Integer.toString(floorPort)));
                Process floorServer = new ProcessBuilder(floorCommand).redirectErrorStream(true).redirectOutput(work.resolve("loopback.log").toFile()).start();
                Thread.sleep(1_000);
                generate(floorUrl, "POST", 5_000, 3, body);
                System.out.printf(Locale.ROOT, "%nSidecar (own JVM, %s) at fixed offered rates for %d s each, open-loop load generator in another"
                        + " process, %d cores%n", gc, seconds, Runtime.getRuntime().availableProcessors());
                int best = 0;
                List<String> lines = new ArrayList<>();
                for (int rate : rates) {
                    // the floor first, at the same rate: the same generator against a server that does nothing (LoopbackServer)
                    // (meanwhile the sidecar is idle: its own background work — topic views, timers, GC — per second)
                    long floorCpu0 = cpuNanos(floorServer);
                    long idleCpu0 = cpuNanos(sidecar);
                    long idleStart = System.nanoTime();
                    Generated floor = generate(floorUrl, "POST", rate, seconds, body);
                    double idleCoreShare = (cpuNanos(sidecar) - idleCpu0) / (double) (System.nanoTime() - idleStart);
                    double floorUs = (cpuNanos(floorServer) - floorCpu0) / 1e3 / Math.max(1, floor.sentWithWarmup());
                    long cpu0 = cpuNanos(sidecar);
                    long start = System.nanoTime();
                    Generated check = generate(base + "/v1/check", "POST", rate, seconds, body);
                    long cpu = cpuNanos(sidecar) - cpu0;
                    double serverUs = cpu / 1e3 / Math.max(1, check.sentWithWarmup());
                    double aboveIdleUs = (cpu - idleCoreShare * (System.nanoTime() - start)) / 1e3 / Math.max(1, check.sentWithWarmup());
                    String line = String.format(Locale.ROOT, "sidecar check at %d/s: achieved %.0f/s, p50 %.2f ms, p99 %.2f ms, p99.9 %.1f ms,"
                                    + " server %.0f us/check, %.0f above idle, %.1fx the no-op's (no-op p99 %.2f ms, p99.9 %.1f ms, %.0f us/request;"
                                    + " generator %.0f us/request)",
                            rate, check.achieved(), check.p50(), check.p99(), check.p999(), serverUs, aboveIdleUs, serverUs / floorUs, floor.p99(),
                            floor.p999(), floorUs, check.generatorUs());
                    lines.add(line);
                    System.out.println(line);
                    if (check.p99() <= 2.0 && check.achieved() >= rate * 0.95 && check.errors() == 0) {
                        best = rate;
                    }
                }
                System.out.printf(Locale.ROOT, "sidecar: highest rate with p99 <= 2 ms: %d/s%n", best);
                floorServer.destroy();
            } finally {
                sidecar.destroy();
                sidecar.waitFor();
            }
        }
    }

    /**
     * {@code taskset -c CPUS} when the property names CPUs (e.g. {@code -Dsidecar.cpus=0 -Dgenerator.cpus=1}):
     * the server and the generator each on its own core, as a gateway and its sidecar would not share one.
     */
    private static List<String> pinned(String property) {
        String cpus = System.getProperty(property, "");
        return cpus.isBlank() ? List.of() : List.of("taskset", "-c", cpus);
    }

    private static long cpuNanos(Process process) {
        return process.toHandle().info().totalCpuDuration().map(Duration::toNanos).orElse(0L);
    }

    private static void awaitReady(String base) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long deadline = System.nanoTime() + Duration.ofSeconds(90).toNanos();
        while (System.nanoTime() < deadline) {
            try {
                if (http.send(HttpRequest.newBuilder(URI.create(base + "/health/ready")).build(), HttpResponse.BodyHandlers.discarding()).statusCode() == 200) {
                    return;
                }
            } catch (java.io.IOException e) {
                // not listening yet
            }
            Thread.sleep(200);
        }
        throw new IllegalStateException("the sidecar did not become ready");
    }

    record Generated(double achieved, double p50, double p99, double p999, int errors, double generatorUs, long sentWithWarmup) {}

    private static Generated generate(String url, String method, int rate, int seconds, String body) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(pinned("generator.cpus"));
        command.addAll(List.of(java, "-Xmx512m", "-XX:+UseSerialGC", "-cp", System.getProperty("java.class.path"), LoadGenerator.class.getName(),
                url, method, Integer.toString(rate), Integer.toString(seconds), "bench-key", body));
        Process process = new ProcessBuilder(command).redirectErrorStream(true).start();
        Map<String, String> result = new HashMap<>();
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream()))) {
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith("RESULT ")) {
                    for (String field : line.substring(7).split(" ")) {
                        String[] kv = field.split("=", 2);
                        result.put(kv[0], kv[1]);
                    }
                }
            }
        }
        process.waitFor();
        if (result.isEmpty()) {
            throw new IllegalStateException("the load generator printed no result");
        }
        return new Generated(Double.parseDouble(result.get("achieved_rate")), Double.parseDouble(result.get("p50_ms")),
                Double.parseDouble(result.get("p99_ms")), Double.parseDouble(result.get("p999_ms")), Integer.parseInt(result.get("errors")),
                Double.parseDouble(result.get("generator_us_per_request")), Long.parseLong(result.get("sent_with_warmup")));
    }
}

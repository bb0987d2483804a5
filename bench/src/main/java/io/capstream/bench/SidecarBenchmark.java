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
import io.capstream.testkit.KafkaCluster;
import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * The sidecar's {@code POST /v1/check} at a steady request rate from another process
 * ({@link LoadGenerator}), next to a no-op endpoint of the same server ({@code GET /health/live})
 * measured in the same run. Usage: {@code SidecarBenchmark [rate] [seconds]} (default 10000, 10).
 */
public final class SidecarBenchmark {
    private SidecarBenchmark() {}

    public static void main(String[] args) throws Exception {
        int rate = args.length > 0 ? Integer.parseInt(args[0]) : 10_000;
        int seconds = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        Path work = Files.createTempDirectory("capstream-sidecar-bench");
        try (KafkaCluster kafka = KafkaCluster.start(); ApicurioRegistry registry = ApicurioRegistry.start(work.resolve("registry.log"))) {
            Topics topics = new Topics("bench.");
            kafka.createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
            SchemaRegistryClient client = new SchemaRegistryClient(registry.url());
            Map<String, Object> props = Map.of("bootstrap.servers", kafka.bootstrapServers());
            try (PolicyPublisher publisher = new PolicyPublisher(props, client, true, topics)) {
                publisher.publish(CheckBenchmark.POLICY, Instant.now());
            }
            try (KafkaProducer<String, CustomerRecord> producer = new KafkaProducer<>(props, new StringSerializer(),
                    RegistryAvroSerde.of(CustomerRecord.class, client, true))) {
                producer.send(new ProducerRecord<>(topics.customers(), "acme", CustomerMapping.toRecord(Customer.unconfigured("acme", "pro"), Instant.now()))).get();
            }
            Path keys = work.resolve("keys.txt");
            Files.writeString(keys, "bench sha256:" + ApiKeys.hash("bench-key") + " check\n");
            try (EnforcementService sidecar = new EnforcementService(EnforcementConfig.from(Map.of(
                    EnforcementConfig.BOOTSTRAP_SERVERS, kafka.bootstrapServers(), RegistryAvroSerde.REGISTRY_URL, registry.url(),
                    RegistryAvroSerde.AUTO_REGISTER, "true", EnforcementConfig.TOPIC_PREFIX, topics.prefix(),
                    EnforcementConfig.HTTP_HOST, "127.0.0.1", EnforcementConfig.HTTP_PORT, "0", EnforcementConfig.API_KEYS_FILE, keys.toString())),
                    Clock.systemUTC())) {
                while (!sidecar.enforcer().ready()) {
                    Thread.sleep(50);
                }
                String base = "http://127.0.0.1:" + sidecar.port();
                String body = "{\"customer\": \"acme\", \"user\": \"alice\", \"api_key\": \"key_1\", \"feature\": \"chat\", \"model\": \"gpt-4o\","
                        + " \"estimate\": {\"input_tokens\": 1200, \"output_tokens\": 400}}";
                String noop = generate(base + "/health/live", "GET", rate, seconds, "");
                String check = generate(base + "/v1/check", "POST", rate, seconds, body);
                System.out.printf("%nSidecar at %d requests/s for %d s, load generator in another process, %d cores%n%s%n%s%n",
                        rate, seconds, Runtime.getRuntime().availableProcessors(), "no-op  GET /health/live: " + noop, "check POST /v1/check:  " + check);
            }
        }
    }

    private static String generate(String url, String method, int rate, int seconds, String body) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        Process process = new ProcessBuilder(List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"), LoadGenerator.class.getName(),
                url, method, Integer.toString(rate), Integer.toString(seconds), "bench-key", body)).redirectErrorStream(true).start();
        String result = "no result";
        try (BufferedReader out = new BufferedReader(new InputStreamReader(process.getInputStream()))) {
            for (String line; (line = out.readLine()) != null; ) {
                if (line.startsWith("RESULT")) {
                    result = line.substring("RESULT ".length());
                }
            }
        }
        process.waitFor();
        return result;
    }
}

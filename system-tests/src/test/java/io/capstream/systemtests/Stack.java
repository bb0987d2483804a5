package io.capstream.systemtests;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.aggregator.AggregatorConfig;
import io.capstream.aggregator.AggregatorService;
import io.capstream.ingest.IngestConfig;
import io.capstream.ingest.IngestService;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.Json;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.SharedStack;
import io.capstream.testkit.TopicNames;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;

/**
 * A Capstream stack for integration tests: topics of its own on the shared real KRaft cluster, the
 * shared real registry, an ingest service and aggregators started on demand, and HTTP helpers.
 */
final class Stack implements AutoCloseable {
    static final String ADMIN_KEY = "it-admin-key";
    /** A customer-facing key for customer {@code acme}. */
    static final String ACME_KEY = "it-acme-customer-key";
    final Topics topics;
    final String applicationId;
    final Path dir;
    final Path keysFile;
    final String bootstrap;
    final String registryUrl;
    final Path policyFile;
    final IngestService ingest;
    final HttpClient http = HttpClient.newHttpClient();

    Stack(String name) {
        this(name, "/test-policy.yaml");
    }

    /** A stack whose policy document is the classpath resource {@code policyResource}. */
    Stack(String name, String policyResource) {
        this(name, policyResource, SharedStack.kafka().bootstrapServers(), SharedStack.registry().url());
    }

    /**
     * A stack on the broker at {@code bootstrap} and the registry at {@code registryUrl} (the shared in-process ones, or
     * ones a fault test stops).
     */
    Stack(String name, String policyResource, String bootstrap, String registryUrl) {
        this.bootstrap = bootstrap;
        this.registryUrl = registryUrl;
        try {
            topics = new Topics(TopicNames.prefixFor(name));
            applicationId = topics.prefix() + "aggregator";
            try (org.apache.kafka.clients.admin.Admin admin = org.apache.kafka.clients.admin.Admin.create(Map.of("bootstrap.servers", bootstrap))) {
                admin.createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList())
                        .all().get(60, java.util.concurrent.TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException | java.util.concurrent.TimeoutException e) {
                throw new IllegalStateException("could not create the stack's topics", e);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException(e);
            }
            dir = Files.createTempDirectory("capstream-" + name);
            keysFile = dir.resolve("keys.txt");
            Files.writeString(keysFile, "admin sha256:" + ApiKeys.hash(ADMIN_KEY) + " admin\n"
                    + "acme sha256:" + ApiKeys.hash(ACME_KEY) + " customer:acme\n");
            policyFile = dir.resolve("policy.yaml");
            try (InputStream in = Stack.class.getResourceAsStream(policyResource)) {
                Files.write(policyFile, in.readAllBytes());
            }
            try (PolicyPublisher publisher = new PolicyPublisher(Map.of("bootstrap.servers", bootstrap),
                    new SchemaRegistryClient(registryUrl), true, topics)) {
                publisher.publish(Files.readString(policyFile), java.time.Instant.now());
            } catch (Exception e) {
                throw new IllegalStateException("could not apply the test policy", e);
            }
            ingest = new IngestService(IngestConfig.from(Map.of(
                    IngestConfig.HTTP_HOST, "127.0.0.1", IngestConfig.HTTP_PORT, "0",
                    IngestConfig.BOOTSTRAP_SERVERS, bootstrap,
                    RegistryAvroSerde.REGISTRY_URL, registryUrl, RegistryAvroSerde.AUTO_REGISTER, "true",
                    IngestConfig.TOPIC_PREFIX, topics.prefix(), IngestConfig.API_KEYS_FILE, keysFile.toString(),
                    "secret.keys", io.capstream.testkit.TestSecrets.KEYS,
                    io.capstream.runtime.PortalTokens.KEYS, io.capstream.testkit.TestSecrets.PORTAL_KEYS)), Clock.systemUTC());
            // ready means its views of customers and policy have loaded: control calls are answered
            org.awaitility.Awaitility.await().atMost(java.time.Duration.ofSeconds(30)).ignoreExceptions().until(() ->
                    http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ingest.port() + "/health/ready")).build(),
                            HttpResponse.BodyHandlers.discarding()).statusCode() == 200);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The aggregator's configuration for instance {@code n} (its own state directory). */
    Map<String, String> aggregatorConfig(int n) {
        Map<String, String> config = new HashMap<>();
        config.put(AggregatorConfig.BOOTSTRAP_SERVERS, bootstrap);
        config.put(RegistryAvroSerde.REGISTRY_URL, registryUrl);
        config.put(RegistryAvroSerde.AUTO_REGISTER, "true");
        config.put(AggregatorConfig.TOPIC_PREFIX, topics.prefix());
        config.put(AggregatorConfig.APPLICATION_ID, applicationId);
        config.put(AggregatorConfig.STATE_DIR, dir.resolve("state-" + n).toString());
        config.put(AggregatorConfig.HTTP_HOST, "127.0.0.1");
        config.put(AggregatorConfig.HTTP_PORT, "0");
        config.put(AggregatorConfig.ADVERTISED_HOST, "127.0.0.1");
        config.put(AggregatorConfig.API_KEYS_FILE, keysFile.toString());
        config.put(io.capstream.runtime.PortalTokens.KEYS, io.capstream.testkit.TestSecrets.PORTAL_KEYS);
        config.put("kafka.session.timeout.ms", "10000");
        return config;
    }

    /**
     * Aggregator instance {@code n} as a process of its own (a real JVM to kill, attach to or measure), listening on
     * {@code port}, with {@code overrides} on top of {@link #aggregatorConfig}; its output goes to {@code target/<logName>.log}.
     */
    Process aggregatorProcess(int n, int port, Map<String, String> overrides, String logName) throws IOException {
        Map<String, String> config = aggregatorConfig(n);
        config.put(AggregatorConfig.HTTP_PORT, Integer.toString(port));
        config.putAll(overrides);
        java.util.Properties properties = new java.util.Properties();
        properties.putAll(config);
        Path file = dir.resolve("aggregator-" + n + ".properties");
        try (java.io.OutputStream out = Files.newOutputStream(file)) {
            properties.store(out, logName);
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-Xmx384m", "-cp", System.getProperty("java.class.path"), AggregatorService.class.getName(), file.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("target", logName + ".log").toFile())).start();
    }

    /** Until the service on {@code port} answers ready (two minutes at most). */
    static void awaitReady(int port) {
        HttpClient http = HttpClient.newHttpClient();
        org.awaitility.Awaitility.await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    }

    AggregatorService aggregator(int n) {
        return new AggregatorService(AggregatorConfig.from(aggregatorConfig(n)), Clock.systemUTC());
    }

    HttpResponse<String> postEvents(String json) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + ingest.port() + "/v1/events"))
                .header("Authorization", "Bearer " + ADMIN_KEY).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(json)).build());
    }

    /** An enforcement sidecar on this stack's topics that reserves strict caps at the aggregator on {@code aggregatorPort}. */
    io.capstream.enforcement.EnforcementService sidecar(int aggregatorPort, long reserveTimeoutMs) {
        return sidecar("http://127.0.0.1:" + aggregatorPort, reserveTimeoutMs);
    }

    /** An enforcement sidecar that enters through any of {@code aggregatorUrls} (comma-separated) and goes to each customer's owner. */
    io.capstream.enforcement.EnforcementService sidecar(String aggregatorUrls, long reserveTimeoutMs) {
        return sidecar(aggregatorUrls, reserveTimeoutMs, Map.of());
    }

    /** As above, with {@code overrides} on top of its configuration. */
    io.capstream.enforcement.EnforcementService sidecar(String aggregatorUrls, long reserveTimeoutMs, Map<String, String> overrides) {
        Map<String, String> config = new HashMap<>(Map.of(
                io.capstream.enforcement.EnforcementConfig.BOOTSTRAP_SERVERS, bootstrap,
                RegistryAvroSerde.REGISTRY_URL, registryUrl, RegistryAvroSerde.AUTO_REGISTER, "true",
                io.capstream.enforcement.EnforcementConfig.TOPIC_PREFIX, topics.prefix(),
                io.capstream.enforcement.EnforcementConfig.HTTP_HOST, "127.0.0.1", io.capstream.enforcement.EnforcementConfig.HTTP_PORT, "0",
                io.capstream.enforcement.EnforcementConfig.API_KEYS_FILE, keysFile.toString(),
                io.capstream.enforcement.EnforcementConfig.AGGREGATOR_URL, aggregatorUrls,
                io.capstream.enforcement.EnforcementConfig.AGGREGATOR_KEY, ADMIN_KEY,
                io.capstream.enforcement.EnforcementConfig.RESERVE_TIMEOUT_MS, Long.toString(reserveTimeoutMs)));
        config.putAll(overrides);
        return new io.capstream.enforcement.EnforcementService(io.capstream.enforcement.EnforcementConfig.from(config), Clock.systemUTC());
    }

    /** A control API call on the ingest service (or, with {@code port}, on another service). */
    HttpResponse<String> control(String method, String path, String body, String key) {
        return control(method, path, body, key, ingest.port());
    }

    HttpResponse<String> control(String method, String path, String body, String key, int port) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + path))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build());
    }

    HttpResponse<String> usage(int port, String customer) {
        return send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/v1/customers/" + customer + "/usage"))
                .header("Authorization", "Bearer " + ADMIN_KEY).timeout(Duration.ofSeconds(10)).GET().build());
    }

    static JsonNode json(HttpResponse<String> response) {
        try {
            return Json.MAPPER.readTree(response.body());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private HttpResponse<String> send(HttpRequest request) {
        try {
            return http.send(request, HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException(e);
        }
    }

    /**
     * Waits (up to {@code within}, asking every {@code poll}) until every customer's {@code total_cost} in the query API
     * of each instance on {@code ports} is exactly what the traffic sent; fails with the last difference otherwise.
     */
    void awaitExactTotals(Traffic traffic, Duration within, Duration poll, int... ports) {
        org.awaitility.Awaitility.await().atMost(within).pollInterval(poll).untilAsserted(() -> {
            for (Map.Entry<String, java.math.BigDecimal> expected : traffic.expectedCost.entrySet()) {
                for (int port : ports) {
                    HttpResponse<String> response = usage(port, expected.getKey());
                    org.assertj.core.api.Assertions.assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                    org.assertj.core.api.Assertions.assertThat(new java.math.BigDecimal(json(response).get("total_cost").asText()))
                            .as(expected.getKey()).isEqualByComparingTo(expected.getValue());
                }
            }
        });
    }

    @Override
    public void close() {
        ingest.close();
    }
}

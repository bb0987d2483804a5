package io.capstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.CustomerRateLimiter;
import io.capstream.runtime.Json;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.FreePort;
import io.capstream.testkit.SharedStack;
import io.capstream.testkit.TopicNames;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The ingest service over real HTTP, writing to a real KRaft broker with a real registry. */
class IngestIT {
    static final String KEY = "test-ingest-key";
    static final String CUSTOMER_KEY = "test-customer-only-key";
    static Topics topics;
    static IngestService service;
    static Path keysFile;
    final HttpClient http = HttpClient.newHttpClient();

    @BeforeAll
    static void start() throws Exception {
        topics = new Topics(TopicNames.prefixFor("ingest-it"));
        SharedStack.kafka().createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
        keysFile = Files.createTempFile("keys", ".txt");
        Files.writeString(keysFile, "svc sha256:" + ApiKeys.hash(KEY) + " ingest\n"
                + "one sha256:" + ApiKeys.hash(CUSTOMER_KEY) + " ingest:cus_a\n");
        service = new IngestService(config(SharedStack.kafka().bootstrapServers()), Clock.systemUTC());
    }

    static IngestConfig config(String bootstrap) {
        return config(bootstrap, topics, Map.of());
    }

    static IngestConfig config(String bootstrap, Topics topics, Map<String, String> more) {
        Map<String, String> config = new HashMap<>(Map.of(
                IngestConfig.HTTP_HOST, "127.0.0.1", IngestConfig.HTTP_PORT, "0",
                IngestConfig.BOOTSTRAP_SERVERS, bootstrap,
                RegistryAvroSerde.REGISTRY_URL, SharedStack.registry().url(), RegistryAvroSerde.AUTO_REGISTER, "true",
                IngestConfig.TOPIC_PREFIX, topics.prefix(), IngestConfig.API_KEYS_FILE, keysFile.toString(),
                IngestConfig.PUBLISH_TIMEOUT_MS, "3000", "secret.keys", io.capstream.testkit.TestSecrets.KEYS));
        config.putAll(more);
        return IngestConfig.from(config);
    }

    @AfterAll
    static void stop() {
        service.close();
    }

    HttpResponse<String> post(IngestService target, String key, String contentType, String body) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + "/v1/events"))
                .header("Content-Type", contentType).POST(HttpRequest.BodyPublishers.ofString(body));
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void acceptedBatchIsAcknowledgedAndOnTheTopicKeyedByCustomer() throws Exception {
        HttpResponse<String> response = post(service, KEY, "application/json", """
                [{"id": "e1", "customer": "cus_a", "feature": "chat", "model": "gpt-4o", "usage": {"input_tokens": 10}},
                 {"id": "e2", "customer": "cus_b", "feature": "chat", "usage": {"requests": 1}}]""");

        assertThat(response.statusCode()).isEqualTo(202);
        assertThat(Json.MAPPER.readTree(response.body()).get("accepted").asInt()).isEqualTo(2);
        List<ConsumerRecord<String, UsageEvent>> records = consumeAll(2);
        assertThat(records).extracting(ConsumerRecord::key).containsExactlyInAnyOrder("cus_a", "cus_b");
        assertThat(records).extracting(r -> r.value().getId()).containsExactlyInAnyOrder("e1", "e2");
    }

    @Test
    void badBatchIsRefusedWithEveryBadEventNamed() throws Exception {
        HttpResponse<String> response = post(service, KEY, "application/json", """
                [{"id": "ok", "customer": "cus_a", "feature": "chat", "usage": {"requests": 1}},
                 {"id": "bad", "customer": "cus_a", "usage": {"requests": "many"}}]""");

        assertThat(response.statusCode()).isEqualTo(400);
        var error = Json.MAPPER.readTree(response.body()).get("error");
        assertThat(error.get("code").asText()).isEqualTo("invalid_events");
        assertThat(error.get("errors").findValuesAsText("field")).containsExactlyInAnyOrder("feature", "usage.requests");
        assertThat(error.get("errors").findValues("index")).allSatisfy(i -> assertThat(i.asInt()).isEqualTo(1));
    }

    @Test
    void refusesMissingKeysForeignCustomersWrongTypesAndOversizeBodies() throws Exception {
        String event = "{\"id\": \"x\", \"customer\": \"cus_b\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}}";
        assertThat(post(service, null, "application/json", event).statusCode()).isEqualTo(401);
        assertThat(post(service, "wrong", "application/json", event).statusCode()).isEqualTo(401);
        assertThat(post(service, CUSTOMER_KEY, "application/json", event).statusCode()).isEqualTo(403);
        assertThat(post(service, KEY, "text/plain", event).statusCode()).isEqualTo(415);
        String big = "[" + String.join(",", java.util.Collections.nCopies(1001, event)) + "]";
        HttpResponse<String> tooMany = post(service, KEY, "application/json", big);
        assertThat(tooMany.statusCode()).isEqualTo(413);
        assertThat(tooMany.body()).contains("at most 1000");
        String huge = "{\"id\": \"" + "x".repeat(1024 * 1024) + "\"}";
        assertThat(post(service, KEY, "application/json", huge).statusCode()).isEqualTo(413);
    }

    @Test
    void unreachableBrokerAnswers503WithRetryAfterWithinSeconds() throws Exception {
        try (IngestService orphan = new IngestService(config("127.0.0.1:" + FreePort.pick()), Clock.systemUTC())) {
            long started = System.nanoTime();
            HttpResponse<String> response = post(orphan, KEY, "application/json",
                    "{\"id\": \"x\", \"customer\": \"cus_a\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}}");
            Duration took = Duration.ofNanos(System.nanoTime() - started);

            assertThat(response.statusCode()).isEqualTo(503);
            assertThat(response.headers().firstValue("Retry-After")).isPresent();
            assertThat(took).isLessThan(Duration.ofSeconds(10));
        }
    }

    @Test
    void aCustomersVoidsAndReplacementsBeyondItsRateAre429WithRetryAfterAndOtherCustomersStillAmend() throws Exception {
        Topics own = new Topics(TopicNames.prefixFor("ingest-it-amend"));
        SharedStack.kafka().createTopics(own.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
        try (IngestService limited = new IngestService(config(SharedStack.kafka().bootstrapServers(), own,
                Map.of(IngestConfig.AMENDMENTS_PER_SECOND, "1")), Clock.systemUTC())) {
            String voidOfA = "{\"customer\": \"cus_a\", \"source\": \"svc\", \"reason\": \"double report\"}";
            // a burst of ten seconds' worth goes through at once
            long started = System.nanoTime();
            for (int i = 0; i < CustomerRateLimiter.BURST_SECONDS; i++) {
                assertThat(amend(limited, "/v1/events/e" + i + "/void", KEY, voidOfA).statusCode()).isEqualTo(202);
            }
            // then replacements count too: refused once the bucket is empty, which it is after at most the one token it refilled
            // for each second the burst took (a slow machine may take more than one)
            int afterBurst = 0;
            HttpResponse<String> refused;
            while ((refused = amend(limited, "/v1/events/e" + (CustomerRateLimiter.BURST_SECONDS + afterBurst) + "/replace", KEY,
                    "{\"customer\": \"cus_a\", \"source\": \"svc\", \"feature\": \"chat\", \"usage\": {\"requests\": 2}, \"reason\": \"recount\"}"))
                    .statusCode() == 202) {
                afterBurst++;
                assertThat(afterBurst).as("replacements accepted after the burst").isLessThanOrEqualTo(
                        1 + (int) Duration.ofNanos(System.nanoTime() - started).toSeconds());
            }
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("Retry-After")).hasValue("1");
            var error = Json.MAPPER.readTree(refused.body()).get("error");
            assertThat(error.get("code").asText()).isEqualTo("amendment_rate_limited");
            assertThat(error.get("message").asText()).contains("cus_a", "at most 1 voids and replacements a second", "nothing was stored");
            // another customer of the same key has a bucket of its own
            assertThat(amend(limited, "/v1/events/e0/void", KEY, voidOfA.replace("cus_a", "cus_b")).statusCode()).isEqualTo(202);
            // and the customer's bucket refills at its rate
            Thread.sleep(1_100);
            assertThat(amend(limited, "/v1/events/e10/void", KEY, voidOfA).statusCode()).isEqualTo(202);
        }
    }

    @Test
    void aCustomersEventsBeyondItsRateAre429AndTheBatchIsRefusedWholeWhileOtherCustomersStillReport() throws Exception {
        Topics own = new Topics(TopicNames.prefixFor("ingest-it-events-rate"));
        SharedStack.kafka().createTopics(own.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
        try (IngestService limited = new IngestService(config(SharedStack.kafka().bootstrapServers(), own,
                Map.of(IngestConfig.EVENTS_PER_SECOND, "100")), Clock.systemUTC())) {
            // a full batch of one customer is its burst of ten seconds' worth
            assertThat(post(limited, KEY, "application/json", batch("a", "cus_a", 1000)).statusCode()).isEqualTo(202);
            // then a batch with 500 more of it (five seconds' refill) and 10 of another customer is refused whole
            String mixed = "[" + events("mb", "cus_b", 10) + "," + events("ma", "cus_a", 500) + "]";
            HttpResponse<String> refused = post(limited, KEY, "application/json", mixed);
            assertThat(refused.statusCode()).isEqualTo(429);
            assertThat(refused.headers().firstValue("Retry-After")).isPresent();
            var error = Json.MAPPER.readTree(refused.body()).get("error");
            assertThat(error.get("code").asText()).isEqualTo("events_rate_limited");
            assertThat(error.get("message").asText()).contains("customer 'cus_a'", "at most 100 events a second", "nothing was stored");
            // the other customer still reports, with what the refused batch had taken from its bucket given back
            assertThat(post(limited, KEY, "application/json", batch("b", "cus_b", 1000)).statusCode()).isEqualTo(202);
            // stored: the two accepted batches, nothing of the refused one
            List<ConsumerRecord<String, UsageEvent>> stored = consumeAll(own.usageEvents(), 2000);
            assertThat(stored).hasSize(2000).noneMatch(r -> r.value().getId().startsWith("m"));
            assertThat(endOffsets(own.usageEvents())).isEqualTo(2000);
        }
    }

    /** A JSON array of {@code count} events of {@code customer}, ids {@code prefix0}, {@code prefix1}, …. */
    static String batch(String prefix, String customer, int count) {
        return "[" + events(prefix, customer, count) + "]";
    }

    /** The events of {@link #batch}, without the brackets. */
    static String events(String prefix, String customer, int count) {
        java.util.StringJoiner events = new java.util.StringJoiner(",");
        for (int i = 0; i < count; i++) {
            events.add("{\"id\": \"" + prefix + i + "\", \"customer\": \"" + customer + "\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}}");
        }
        return events.toString();
    }

    private static long endOffsets(String topic) {
        try (KafkaConsumer<String, String> consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG,
                SharedStack.kafka().bootstrapServers()), new StringDeserializer(), new StringDeserializer())) {
            List<org.apache.kafka.common.TopicPartition> partitions = consumer.partitionsFor(topic).stream()
                    .map(p -> new org.apache.kafka.common.TopicPartition(topic, p.partition())).toList();
            return consumer.endOffsets(partitions).values().stream().mapToLong(Long::longValue).sum();
        }
    }

    HttpResponse<String> amend(IngestService target, String path, String key, String body) throws Exception {
        return http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + target.port() + path))
                .header("Content-Type", "application/json").header("Authorization", "Bearer " + key)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
    }

    private List<ConsumerRecord<String, UsageEvent>> consumeAll(int expected) {
        return consumeAll(topics.usageEvents(), expected);
    }

    private static List<ConsumerRecord<String, UsageEvent>> consumeAll(String topic, int expected) {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.kafka().bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "ingest-it-" + System.nanoTime());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(RegistryAvroSerde.REGISTRY_URL, SharedStack.registry().url());
        List<ConsumerRecord<String, UsageEvent>> records = new ArrayList<>();
        try (KafkaConsumer<String, UsageEvent> consumer =
                     new KafkaConsumer<>(props, new StringDeserializer(), RegistryAvroSerde.of(UsageEvent.class,
                             new io.capstream.schemas.registry.SchemaRegistryClient(SharedStack.registry().url()), false))) {
            consumer.subscribe(List.of(topic));
            long deadline = System.currentTimeMillis() + 30_000;
            while (records.size() < expected && System.currentTimeMillis() < deadline) {
                consumer.poll(Duration.ofMillis(500)).forEach(records::add);
            }
        }
        return records;
    }
}

package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.aggregator.AggregatorService;
import io.capstream.runtime.Json;
import io.capstream.testkit.SharedStack;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** HTTP ingest → real broker → exactly-once aggregator → query API, on the shared in-process cluster. */
class AggregatorIT {
    static Stack stack;
    static AggregatorService aggregator;

    @BeforeAll
    static void start() {
        stack = new Stack("aggregator-it");
        aggregator = stack.aggregator(0);
        await().atMost(Duration.ofSeconds(60)).until(() -> aggregator.streams().state() == KafkaStreams.State.RUNNING);
    }

    @AfterAll
    static void stop() {
        aggregator.close();
        stack.close();
    }

    @Test
    void twentyThousandEventsWithRetriedBatchesGiveExactTotals() {
        // given 20,000 events for 200 customers in batches of 100, every tenth batch sent twice
        Traffic traffic = new Traffic("cus_", 200, 20_000, 42);
        List<String> batches = traffic.batches(100);
        // when
        for (int i = 0; i < batches.size(); i++) {
            assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
            if (i % 10 == 0) {
                assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
            }
        }
        // then every customer's total equals the exact expected sum, to the last decimal
        stack.awaitExactTotals(traffic, Duration.ofSeconds(120), Duration.ofMillis(500), aggregator.port());
        JsonNode one = Stack.json(stack.usage(aggregator.port(), "cus_7"));
        assertThat(one.get("features").findValues("events").stream().mapToLong(JsonNode::asLong).sum()).isEqualTo(100);
    }

    @Test
    void badBatchIsRefusedWholeAndNothingOfItIsCounted() {
        HttpResponse<String> refused = stack.postEvents("""
                [{"id": "good", "customer": "bad_batch", "feature": "chat", "model": "gpt-4o", "usage": {"input_tokens": 1000}},
                 {"id": "bad", "customer": "bad_batch", "feature": "chat", "usage": {"input_tokens": -5}}]""");
        assertThat(refused.statusCode()).isEqualTo(400);
        assertThat(refused.body()).contains("\"index\":1", "usage.input_tokens");

        assertThat(stack.postEvents("""
                {"id": "later", "customer": "bad_batch", "feature": "chat", "model": "gpt-4o", "usage": {"input_tokens": 2}}""")
                .statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().untilAsserted(() -> {
            JsonNode usage = Stack.json(stack.usage(aggregator.port(), "bad_batch"));
            assertThat(usage.get("total_cost").asText()).isEqualTo("0.000005");
            assertThat(usage.get("features").get(0).get("events").asLong()).isEqualTo(1);
        });
    }

    @Test
    void aConsumerThatKnowsOnlyTheRegistryAddressDecodesUsageAggregates() throws Exception {
        assertThat(stack.postEvents("""
                {"id": "wire", "customer": "wire_check", "feature": "chat", "model": "gpt-4o", "usage": {"input_tokens": 4}}""")
                .statusCode()).isEqualTo(202);
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.kafka().bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "wire-check");
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        HttpClient http = HttpClient.newHttpClient();
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            consumer.subscribe(List.of(stack.topics.usageAggregates()));
            GenericRecord decoded = null;
            long deadline = System.currentTimeMillis() + 30_000;
            while (decoded == null && System.currentTimeMillis() < deadline) {
                for (ConsumerRecord<String, byte[]> record : consumer.poll(Duration.ofMillis(500))) {
                    if (!record.key().startsWith("wire_check|")) {
                        continue;
                    }
                    // the Confluent wire format, decoded with nothing but the registry's REST API
                    ByteBuffer buffer = ByteBuffer.wrap(record.value());
                    assertThat(buffer.get()).isZero();
                    String body = http.send(HttpRequest.newBuilder(URI.create(SharedStack.registry().url() + "/schemas/ids/" + buffer.getInt()))
                            .build(), HttpResponse.BodyHandlers.ofString()).body();
                    Schema schema = new Schema.Parser().parse(Json.MAPPER.readTree(body).get("schema").asText());
                    decoded = new GenericDatumReader<GenericRecord>(schema)
                            .read(null, DecoderFactory.get().binaryDecoder(record.value(), 5, record.value().length - 5, null));
                }
            }
            assertThat(decoded).isNotNull();
            assertThat(decoded.get("customer").toString()).isEqualTo("wire_check");
            assertThat(decoded.get("limit_id").toString()).isEqualTo("feature:chat");
            // a decimal(38,18) cost: 4 tokens × 0.0000025
            BigDecimal cost = new BigDecimal(new java.math.BigInteger(((ByteBuffer) decoded.get("cost")).array()), 18);
            assertThat(cost).isEqualByComparingTo("0.00001");
        }
    }

    @Test
    void everyInstanceAnswersForEveryCustomerByForwardingToTheOwner() {
        Traffic traffic = new Traffic("fwd_", 24, 240, 7);
        traffic.batches(120).forEach(b -> assertThat(stack.postEvents(b).statusCode()).isEqualTo(202));
        try (AggregatorService second = stack.aggregator(1)) {
            await().atMost(Duration.ofSeconds(90)).until(() -> second.streams().state() == KafkaStreams.State.RUNNING
                    && aggregator.streams().state() == KafkaStreams.State.RUNNING
                    && second.streams().metadataForLocalThreads().stream().anyMatch(t -> !t.activeTasks().isEmpty()));
            await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(500)).untilAsserted(() -> {
                for (Map.Entry<String, BigDecimal> expected : traffic.expectedCost.entrySet()) {
                    for (int port : new int[] {aggregator.port(), second.port()}) {
                        HttpResponse<String> response = stack.usage(port, expected.getKey());
                        assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                        assertThat(new BigDecimal(Stack.json(response).get("total_cost").asText())).isEqualByComparingTo(expected.getValue());
                    }
                }
            });
        }
    }
}

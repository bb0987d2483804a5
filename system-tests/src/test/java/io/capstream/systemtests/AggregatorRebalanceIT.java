package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.capstream.aggregator.AggregatorService;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.testkit.SharedStack;
import java.math.BigDecimal;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Partitions moving between two aggregator instances in the middle of traffic: running totals live as
 * objects between commits ({@code TotalsStore}), so every move (a task revoked and committed, a task
 * started from the changelog elsewhere) must keep them exact, in the query API and on
 * {@code usage-aggregates}.
 */
class AggregatorRebalanceIT {
    Stack stack;
    AggregatorService first;
    AggregatorService second;

    @AfterEach
    void stop() {
        for (AggregatorService a : new AggregatorService[] {first, second}) {
            if (a != null) {
                a.close();
            }
        }
        stack.close();
    }

    @Test
    void totalsStayExactWhilePartitionsMoveBetweenTwoInstancesMidTraffic() throws Exception {
        // given one aggregator and HTTP traffic with retried batches
        stack = new Stack("rebalance");
        first = stack.aggregator(0);
        awaitRunning(first);
        Traffic traffic = new Traffic("move_", 60, 9_000, 11);
        List<String> batches = traffic.batches(50);
        CountDownLatch[] marks = {new CountDownLatch(batches.size() / 4), new CountDownLatch(batches.size() / 2),
                new CountDownLatch(3 * batches.size() / 4)};
        CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < batches.size(); i++) {
                assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
                if (i % 7 == 0) {
                    assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
                }
                for (CountDownLatch mark : marks) {
                    mark.countDown();
                }
                pause(); // spread the traffic (about 20 s) over the moves
            }
        });

        // when a second instance joins (half the partitions move to it), the first leaves (all move to
        // the second), and the first comes back (half move back), each while events keep coming
        assertThat(marks[0].await(120, TimeUnit.SECONDS)).isTrue();
        second = stack.aggregator(1);
        awaitActiveTasks(second);
        assertThat(marks[1].await(120, TimeUnit.SECONDS)).isTrue();
        first.close();
        assertThat(marks[2].await(120, TimeUnit.SECONDS)).isTrue();
        first = stack.aggregator(0);
        awaitActiveTasks(first);
        sender.get(180, TimeUnit.SECONDS);

        // then every customer's total is exact through either instance
        stack.awaitExactTotals(traffic, Duration.ofSeconds(120), Duration.ofMillis(500), first.port(), second.port());
        // and the last committed value of every feature total on usage-aggregates adds up to it too
        Map<String, BigDecimal> emitted = latestFeatureCosts();
        assertThat(emitted.keySet()).isEqualTo(traffic.expectedCost.keySet());
        traffic.expectedCost.forEach((customer, cost) -> assertThat(emitted.get(customer)).as(customer).isEqualByComparingTo(cost));
    }

    @Test
    void openStrictReservationsMoveWithTheirPartition() throws Exception {
        // given one aggregator, a $1.00 strict cap, and a reservation of $0.60 open at that instance
        stack = new Stack("strictmove");
        first = stack.aggregator(0);
        awaitRunning(first);
        try (java.io.InputStream in = AggregatorRebalanceIT.class.getResourceAsStream("/limits-policy.yaml")) {
            assertThat(stack.control("PUT", "/v1/policy", new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8), Stack.ADMIN_KEY)
                    .statusCode()).isEqualTo(200);
        }
        assertThat(stack.control("PUT", "/v1/customers/mover/caps/hard", "{\"amount\": \"1.00\", \"strict\": true}", Stack.ADMIN_KEY)
                .statusCode()).isEqualTo(200);
        await().atMost(Duration.ofSeconds(30)).ignoreExceptions().until(() ->
                Stack.json(stack.usage(first.port(), "mover")).get("limits").findValuesAsText("id").contains("cap:hard"));
        HttpResponse<String> held = reserve(first, "0.60");
        assertThat(held.statusCode()).as(held.body()).isEqualTo(201);
        String id = Stack.json(held).get("reservation_id").asText();

        // when a second instance joins and the first leaves: every partition, the customer's too, moves to the second
        second = stack.aggregator(1);
        awaitActiveTasks(second);
        first.close();
        first = null;

        // then the hold is still there: another $0.60 does not fit, $0.40 does
        await().atMost(Duration.ofSeconds(60)).until(() -> reserve(second, "0.60").statusCode() != 503);
        HttpResponse<String> refused = reserve(second, "0.60");
        assertThat(refused.statusCode()).as(refused.body()).isEqualTo(402);
        assertThat(reserve(second, "0.40").statusCode()).isEqualTo(201);
        // and it can be released there, which frees its amount
        assertThat(stack.control("DELETE", "/v1/reservations/" + id, null, Stack.ADMIN_KEY, second.port()).statusCode()).isEqualTo(204);
        assertThat(reserve(second, "0.60").statusCode()).isEqualTo(201);
    }

    private HttpResponse<String> reserve(AggregatorService at, String cost) {
        return stack.control("POST", "/v1/reservations", "{\"customer\": \"mover\", \"feature\": \"chat\", \"estimate\": {\"cost\": \""
                + cost + "\"}}", Stack.ADMIN_KEY, at.port());
    }

    private static void pause() {
        try {
            Thread.sleep(100);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    private static void awaitRunning(AggregatorService a) {
        await().atMost(Duration.ofSeconds(90)).until(() -> a.streams().state() == KafkaStreams.State.RUNNING);
    }

    private static void awaitActiveTasks(AggregatorService a) {
        await().atMost(Duration.ofSeconds(90)).until(() -> a.streams().state() == KafkaStreams.State.RUNNING
                && a.streams().metadataForLocalThreads().stream().anyMatch(t -> !t.activeTasks().isEmpty()));
    }

    /** Per customer, the sum of the cost of the last committed record of each of its feature totals. */
    private Map<String, BigDecimal> latestFeatureCosts() {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.kafka().bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "rebalance-check-" + System.nanoTime());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        props.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        Map<String, LimitUsage> latest = new HashMap<>();
        try (KafkaConsumer<String, LimitUsage> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                RegistryAvroSerde.of(LimitUsage.class, new SchemaRegistryClient(SharedStack.registry().url()), false))) {
            consumer.subscribe(List.of(stack.topics.usageAggregates()));
            long quietSince = System.nanoTime();
            while (System.nanoTime() - quietSince < Duration.ofSeconds(3).toNanos()) {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> latest.put(r.key(), r.value()));
            }
        }
        Map<String, BigDecimal> costs = new HashMap<>();
        latest.values().stream().filter(u -> u.getKind().equals("feature"))
                .forEach(u -> costs.merge(u.getCustomer(), u.getCost(), BigDecimal::add));
        return costs;
    }
}

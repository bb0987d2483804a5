package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.capstream.aggregator.AggregatorConfig;
import io.capstream.aggregator.AggregatorService;
import io.capstream.testkit.FreePort;
import java.io.IOException;
import java.io.OutputStream;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * Three aggregator processes with standby replicas; one is killed with SIGKILL in the middle of HTTP
 * traffic. Every total stays exact, the killed instance's customers are answered by the others again
 * within seconds (the time is measured and printed), and meanwhile a query is answered 503 with
 * {@code Retry-After} or with a total, never a total above what was sent.
 */
class AggregatorFailoverIT {
    static final int INSTANCES = 3;
    Stack stack;
    final List<Process> processes = new ArrayList<>();
    final List<Integer> ports = new ArrayList<>();

    @AfterEach
    void stop() throws InterruptedException {
        for (Process p : processes) {
            p.destroy();
            p.waitFor(30, TimeUnit.SECONDS);
        }
        stack.close();
    }

    Process launch(int n) throws IOException {
        Map<String, String> config = stack.aggregatorConfig(n);
        config.put(AggregatorConfig.HTTP_PORT, Integer.toString(ports.get(n)));
        config.put(AggregatorConfig.STANDBY_REPLICAS, "1");
        config.remove("kafka.session.timeout.ms"); // the production default
        Properties properties = new Properties();
        properties.putAll(config);
        Path file = stack.dir.resolve("aggregator-" + n + ".properties");
        try (OutputStream out = Files.newOutputStream(file)) {
            properties.store(out, "failover test");
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-Xmx384m", "-cp", System.getProperty("java.class.path"), AggregatorService.class.getName(), file.toString())
                .redirectErrorStream(true).redirectOutput(Path.of("target", "failover-" + n + ".log").toFile()).start();
    }

    @Test
    void killingOneOfThreeAggregatorsMidTrafficLosesNothingAndItsCustomersAreAnsweredAgainWithinSeconds() throws Exception {
        // given three aggregator processes, each task with a standby on another, and HTTP traffic with retried batches
        stack = new Stack("failover");
        for (int n = 0; n < INSTANCES; n++) {
            ports.add(FreePort.pick());
            processes.add(launch(n));
        }
        HttpClient http = HttpClient.newHttpClient();
        for (int port : ports) {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                    http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                            HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
        }
        Traffic traffic = new Traffic("fo_", 40, 8_000, 5);
        List<String> batches = traffic.batches(50);
        CountDownLatch aThirdSent = new CountDownLatch(batches.size() / 3);
        CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < batches.size(); i++) {
                assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
                if (i % 9 == 0) {
                    assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
                }
                aThirdSent.countDown();
                sleep(120); // about 20 s of traffic
            }
        });
        // and a client asking the survivors for every customer's usage all along
        List<Integer> survivors = ports.subList(0, INSTANCES - 1);
        List<String> customers = new ArrayList<>(traffic.expectedCost.keySet());
        ConcurrentLinkedQueue<String> wrong = new ConcurrentLinkedQueue<>();
        ConcurrentLinkedQueue<Long> unavailableAt = new ConcurrentLinkedQueue<>();
        AtomicBoolean asking = new AtomicBoolean(true);
        CompletableFuture<Void> asker = CompletableFuture.runAsync(() -> {
            for (int i = 0; asking.get(); i++) {
                String customer = customers.get(i % customers.size());
                HttpResponse<String> answer = stack.usage(survivors.get(i % survivors.size()), customer);
                if (answer.statusCode() == 503) {
                    unavailableAt.add(System.nanoTime());
                    if (answer.headers().firstValue("Retry-After").isEmpty()) {
                        wrong.add("503 without Retry-After: " + answer.body());
                    }
                } else if (answer.statusCode() != 200) {
                    wrong.add(answer.statusCode() + " " + answer.body());
                } else if (new BigDecimal(Stack.json(answer).get("total_cost").asText()).compareTo(traffic.expectedCost.get(customer)) > 0) {
                    wrong.add(customer + " above what was sent: " + answer.body());
                }
                sleep(10);
            }
        });

        // when one of them is killed with SIGKILL a third of the way through
        assertThat(aThirdSent.await(120, TimeUnit.SECONDS)).isTrue();
        long killed = System.nanoTime();
        processes.get(INSTANCES - 1).destroyForcibly().waitFor();
        sender.get(180, TimeUnit.SECONDS);

        // then every customer's total is exact at both survivors
        await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
            for (Map.Entry<String, BigDecimal> expected : traffic.expectedCost.entrySet()) {
                for (int port : survivors) {
                    HttpResponse<String> response = stack.usage(port, expected.getKey());
                    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                    assertThat(new BigDecimal(Stack.json(response).get("total_cost").asText()))
                            .as(expected.getKey()).isEqualByComparingTo(expected.getValue());
                }
            }
        });
        asking.set(false);
        asker.get(30, TimeUnit.SECONDS);
        // and meanwhile every answer was a total no higher than what was sent, or 503 with Retry-After
        assertThat(wrong).isEmpty();
        // and the killed instance's customers were answered again soon: the last 503 came this long after the kill
        long lastUnavailable = unavailableAt.stream().mapToLong(Long::longValue).max().orElse(killed);
        Duration takeover = Duration.ofNanos(Math.max(0, lastUnavailable - killed));
        System.out.printf("aggregator failover: SIGKILL of 1 of %d; 503s for %d queries, the last %.1f s after the kill%n",
                INSTANCES, unavailableAt.size(), takeover.toMillis() / 1000.0);
        assertThat(takeover).isLessThan(Duration.ofSeconds(60));
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package io.capstream.aggregator.it;

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
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The aggregator as a real process, killed with SIGKILL in the middle of traffic and started again. */
class AggregatorCrashIT {
    static Stack stack;
    static Path configFile;
    static int port;
    Process aggregator;

    @BeforeAll
    static void start() throws IOException {
        stack = new Stack("aggregator-crash-it");
        port = FreePort.pick();
        Map<String, String> config = stack.aggregatorConfig(0);
        config.put(AggregatorConfig.HTTP_PORT, Integer.toString(port));
        Properties properties = new Properties();
        properties.putAll(config);
        configFile = stack.dir.resolve("aggregator.properties");
        try (OutputStream out = Files.newOutputStream(configFile)) {
            properties.store(out, "crash test");
        }
    }

    @AfterAll
    static void stop() {
        stack.close();
    }

    Process launch(int n) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"),
                AggregatorService.class.getName(), configFile.toString())
                .redirectErrorStream(true)
                .redirectOutput(Path.of("target", "crash-aggregator-" + n + ".log").toFile())
                .start();
    }

    void awaitReady() {
        HttpClient http = HttpClient.newHttpClient();
        await().atMost(Duration.ofSeconds(90)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                        HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
    }

    @Test
    void totalsStayExactWhenTheAggregatorIsKilledInTheMiddleOfTrafficAndRestarted() throws Exception {
        // given a running aggregator process and traffic with retried batches
        aggregator = launch(1);
        awaitReady();
        Traffic traffic = new Traffic("crash_", 100, 10_000, 99);
        List<String> batches = traffic.batches(100);
        CountDownLatch aThirdSent = new CountDownLatch(batches.size() / 3);
        CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
            for (int i = 0; i < batches.size(); i++) {
                assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
                if (i % 10 == 0) {
                    assertThat(stack.postEvents(batches.get(i)).statusCode()).isEqualTo(202);
                }
                aThirdSent.countDown();
            }
        });

        // when the aggregator is killed with SIGKILL mid-traffic and started again
        assertThat(aThirdSent.await(60, TimeUnit.SECONDS)).isTrue();
        aggregator.destroyForcibly().waitFor();
        aggregator = launch(2);
        sender.get(120, TimeUnit.SECONDS);
        awaitReady();

        // then every total is exact
        try {
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofSeconds(1)).untilAsserted(() -> {
                for (Map.Entry<String, BigDecimal> expected : traffic.expectedCost.entrySet()) {
                    HttpResponse<String> response = stack.usage(port, expected.getKey());
                    assertThat(response.statusCode()).as(response.body()).isEqualTo(200);
                    assertThat(new BigDecimal(Stack.json(response).get("total_cost").asText()))
                            .as(expected.getKey()).isEqualByComparingTo(expected.getValue());
                }
            });
        } finally {
            aggregator.destroy();
            aggregator.waitFor(30, TimeUnit.SECONDS);
        }
    }
}

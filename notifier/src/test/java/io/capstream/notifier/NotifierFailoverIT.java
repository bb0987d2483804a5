package io.capstream.notifier;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.sun.net.httpserver.HttpServer;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.testkit.FreePort;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * Two notifier processes sharing the threshold events; one is killed with SIGKILL while webhooks are
 * being delivered. Every crossing is delivered; a crossing delivered twice (the killed one had sent it
 * but not committed it) carries the same {@code webhook-id} both times, so the receiver can drop it.
 */
class NotifierFailoverIT {
    static final int CUSTOMERS = 20;
    static final String[] THRESHOLDS = {"0.1", "0.2", "0.3", "0.4", "0.5", "0.6", "0.7", "0.8", "0.9", "1"};

    @Test
    void killingOneOfTwoNotifiersMidDeliveryLosesNoCrossingAndRepeatsOnlyWithTheSameWebhookId() throws Exception {
        // given a webhook receiver that takes 30 ms to answer, and 20 customers whose webhooks point at it
        ConcurrentLinkedQueue<String> received = new ConcurrentLinkedQueue<>();
        HttpServer receiver = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        receiver.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        receiver.createContext("/hooks", exchange -> {
            try (exchange) {
                exchange.getRequestBody().readAllBytes();
                Thread.sleep(30);
                received.add(exchange.getRequestHeaders().getFirst("webhook-id"));
                exchange.sendResponseHeaders(204, -1);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        receiver.start();
        NotifierFixture fixture = new NotifierFixture("notifier-failover");
        List<Process> notifiers = new ArrayList<>();
        try {
            for (int c = 0; c < CUSTOMERS; c++) {
                fixture.customer("hooked" + c, List.of(), "http://127.0.0.1:" + receiver.getAddress().getPort() + "/hooks/hooked" + c);
            }
            // and two notifier processes in one consumer group
            List<Integer> ports = List.of(FreePort.pick(), FreePort.pick());
            for (int n = 0; n < 2; n++) {
                notifiers.add(launch(fixture, ports.get(n), n));
            }
            HttpClient http = HttpClient.newHttpClient();
            for (int port : ports) {
                await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(250)).ignoreExceptions().until(() ->
                        http.send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/health/ready")).build(),
                                HttpResponse.BodyHandlers.ofString()).statusCode() == 200);
            }

            // when 200 crossings are published and one notifier is killed with SIGKILL once a fifth of them arrived
            Set<String> expected = new HashSet<>();
            List<ThresholdCrossed> crossings = new ArrayList<>();
            for (int c = 0; c < CUSTOMERS; c++) {
                for (String t : THRESHOLDS) {
                    ThresholdCrossed crossing = NotifierFixture.crossing("hooked" + c, t, "50");
                    crossings.add(crossing);
                    expected.add(crossing.getId());
                }
            }
            fixture.publish(crossings.toArray(ThresholdCrossed[]::new));
            await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(10)).until(() -> received.size() >= expected.size() / 5);
            notifiers.get(1).destroyForcibly().waitFor();

            // then every crossing arrives, and every repeat has the webhook-id of a crossing already delivered
            await().atMost(Duration.ofSeconds(120)).pollInterval(Duration.ofMillis(200)).until(() -> new HashSet<>(received).containsAll(expected));
            Thread.sleep(2_000); // anything still on its way
            assertThat(new HashSet<>(received)).isEqualTo(expected);
            System.out.printf("notifier failover: SIGKILL of 1 of 2 mid-delivery; %d crossings, %d webhooks received (%d repeats, same webhook-id)%n",
                    expected.size(), received.size(), received.size() - expected.size());
        } finally {
            for (Process p : notifiers) {
                p.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
            }
            receiver.stop(0);
        }
    }

    static Process launch(NotifierFixture fixture, int port, int n) throws IOException {
        Map<String, String> config = fixture.config(FreePort.pick());
        config.put(NotifierConfig.HTTP_PORT, Integer.toString(port));
        config.put("kafka.session.timeout.ms", "10000"); // the killed instance's partitions move within seconds
        Properties properties = new Properties();
        properties.putAll(config);
        Path file = Files.createTempFile("notifier-" + n, ".properties");
        try (OutputStream out = Files.newOutputStream(file)) {
            properties.store(out, "notifier failover test");
        }
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), NotifierService.class.getName(), file.toString())
                .redirectErrorStream(true).redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("target", "notifier-failover-" + n + ".log").toFile()))
                .start();
    }
}

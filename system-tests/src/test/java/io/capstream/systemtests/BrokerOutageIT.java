package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.capstream.aggregator.AggregatorService;
import io.capstream.testkit.FreePort;
import java.io.IOException;
import java.net.Socket;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.apache.kafka.common.Uuid;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * The broker (a KRaft process of its own) stopped for 20 s in the middle of HTTP traffic and started
 * again: ingest answers 503 with {@code Retry-After} meanwhile, within its publish timeout (never a hang,
 * never a 500); the client sends each refused batch again until it is accepted, and those retries count
 * once; the aggregator resumes by itself and every total is exact.
 */
class BrokerOutageIT {
    Process broker;

    @Test
    void aBrokerStoppedFor20SecondsMidTrafficLosesNothingAndIngestAnswers503Meanwhile() throws Exception {
        int port = FreePort.pick();
        int controllerPort = FreePort.pick();
        Path dir = Files.createTempDirectory("broker-outage");
        Path config = dir.resolve("server.properties");
        Files.writeString(config, String.join("\n",
                "process.roles=broker,controller", "node.id=1", "controller.quorum.voters=1@127.0.0.1:" + controllerPort,
                "listeners=PLAINTEXT://127.0.0.1:" + port + ",CONTROLLER://127.0.0.1:" + controllerPort,
                "advertised.listeners=PLAINTEXT://127.0.0.1:" + port, "controller.listener.names=CONTROLLER",
                "listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT", "inter.broker.listener.name=PLAINTEXT",
                "log.dirs=" + dir.resolve("data"), "offsets.topic.replication.factor=1", "transaction.state.log.replication.factor=1",
                "transaction.state.log.min.isr=1", "group.initial.rebalance.delay.ms=0", "auto.create.topics.enable=false", ""));
        assertThat(java(dir, "format", "kafka.tools.StorageTool", "format", "-t", Uuid.randomUuid().toString(), "-c", config.toString())
                .waitFor()).isZero();
        broker = startBroker(dir, config, port);
        Stack stack = null;
        try {
            // given ingest and the aggregator on that broker, and HTTP traffic whose refused batches are sent again
            stack = new Stack("broker-outage", "/test-policy.yaml", "127.0.0.1:" + port, io.capstream.testkit.SharedStack.registry().url());
            Stack s = stack;
            try (AggregatorService aggregator = stack.aggregator(0)) {
                await().atMost(Duration.ofSeconds(90)).until(() -> aggregator.streams().state() == KafkaStreams.State.RUNNING);
                Traffic traffic = new Traffic("out_", 30, 4_000, 21);
                List<String> batches = traffic.batches(50);
                CountDownLatch aQuarterSent = new CountDownLatch(batches.size() / 4);
                AtomicInteger unavailable = new AtomicInteger();
                AtomicInteger otherwise = new AtomicInteger();
                AtomicLong slowest = new AtomicLong();
                CompletableFuture<Void> sender = CompletableFuture.runAsync(() -> {
                    for (String batch : batches) {
                        while (true) {
                            long began = System.nanoTime();
                            HttpResponse<String> answer = s.postEvents(batch);
                            slowest.accumulateAndGet(System.nanoTime() - began, Math::max);
                            if (answer.statusCode() == 202) {
                                break;
                            }
                            if (answer.statusCode() == 503 && answer.headers().firstValue("Retry-After").isPresent()) {
                                unavailable.incrementAndGet();
                            } else {
                                otherwise.incrementAndGet();
                            }
                            sleep(500); // the client's retry
                        }
                        aQuarterSent.countDown();
                        sleep(50);
                    }
                });

                // when the broker stops a quarter of the way through, for 20 s, and starts again
                assertThat(aQuarterSent.await(120, TimeUnit.SECONDS)).isTrue();
                broker.destroy();
                assertThat(broker.waitFor(60, TimeUnit.SECONDS)).isTrue();
                Thread.sleep(20_000);
                broker = startBroker(dir, config, port);
                sender.get(300, TimeUnit.SECONDS);

                // then ingest answered 503 with Retry-After meanwhile, within its publish timeout, and nothing else
                System.out.printf("broker outage of 20 s: %d answers 503 with Retry-After, %d otherwise, slowest answer %.1f s%n",
                        unavailable.get(), otherwise.get(), slowest.get() / 1e9);
                assertThat(unavailable.get()).isPositive();
                assertThat(otherwise.get()).isZero();
                // (publish.timeout.ms is 5 s; it was up to 19 s before a send that failed at once ended the request)
                assertThat(Duration.ofNanos(slowest.get())).isLessThan(Duration.ofSeconds(8));
                // and the aggregator resumed by itself: every total exact, retried batches counted once
                s.awaitExactTotals(traffic, Duration.ofSeconds(180), Duration.ofSeconds(1), aggregator.port());
            }
        } finally {
            if (stack != null) {
                stack.close();
            }
            broker.destroyForcibly().waitFor(30, TimeUnit.SECONDS);
        }
    }

    static Process startBroker(Path dir, Path config, int port) throws Exception {
        Process p = java(dir, "broker", "kafka.Kafka", config.toString());
        await().atMost(Duration.ofSeconds(60)).pollInterval(Duration.ofMillis(200)).ignoreExceptions().until(() -> {
            try (Socket socket = new Socket("127.0.0.1", port)) {
                return true;
            }
        });
        return p;
    }

    static Process java(Path dir, String log, String main, String... args) throws IOException {
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new java.util.ArrayList<>(List.of(java, "-Xmx512m", "-cp", System.getProperty("java.class.path"), main));
        command.addAll(List.of(args));
        return new ProcessBuilder(command).redirectErrorStream(true)
                .redirectOutput(ProcessBuilder.Redirect.appendTo(Path.of("target", "broker-outage-" + log + ".log").toFile())).start();
    }

    private static void sleep(long millis) {
        try {
            Thread.sleep(millis);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

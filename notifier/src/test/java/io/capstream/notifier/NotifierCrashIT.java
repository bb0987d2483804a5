package io.capstream.notifier;

import static io.capstream.notifier.NotifierFixture.crossing;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.capstream.schemas.ThresholdCrossed;
import io.capstream.testkit.FreePort;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** The notifier as a real process, killed with SIGKILL in the middle of delivering, then started again. */
class NotifierCrashIT {
    @Test
    void noThresholdEventIsLostWhenTheNotifierIsKilledMidDelivery() throws Exception {
        // given 60 customers whose receiver takes a moment to answer, and 120 threshold events
        NotifierFixture fixture = new NotifierFixture("notifier-crash-it");
        try (WebhookReceiver receiver = new WebhookReceiver(NotifierFixture.SECRET, Map.of("/hook", call -> {
            Thread.sleep(400);
            return 200;
        }))) {
            for (int i = 0; i < 60; i++) {
                fixture.customer("c" + i, List.of(), receiver.url("/hook"));
            }
            ThresholdCrossed[] events = IntStream.range(0, 120)
                    .mapToObj(i -> crossing("c" + (i % 60), i < 60 ? "0.8" : "0.9", "90")).toArray(ThresholdCrossed[]::new);
            Set<String> expected = java.util.Arrays.stream(events).map(ThresholdCrossed::getId).collect(Collectors.toSet());
            Map<String, String> config = fixture.config(FreePort.pick());
            config.put(NotifierConfig.MAX_IN_FLIGHT, "20");
            config.put("kafka.session.timeout.ms", "6000"); // the killed member leaves the group sooner
            Path file = Files.createTempFile("notifier", ".properties");
            Properties properties = new Properties();
            properties.putAll(config);
            try (OutputStream out = Files.newOutputStream(file)) {
                properties.store(out, "notifier crash test");
            }

            // when the notifier is killed with SIGKILL after some deliveries, and started again
            Process notifier = launch(file, 1);
            fixture.publish(events);
            await().atMost(Duration.ofSeconds(60)).until(() -> receiver.on("/hook").size() >= 40 && committed(fixture, config) > 0);
            notifier.destroyForcibly().waitFor();
            int beforeRestart = receiver.on("/hook").size();
            notifier = launch(file, 2);
            try {
                // then every threshold event is delivered (some twice, with the same webhook-id)
                await().atMost(Duration.ofSeconds(90)).untilAsserted(() -> assertThat(
                        receiver.on("/hook").stream().map(WebhookReceiver.Received::id).collect(Collectors.toSet())).isEqualTo(expected));
                assertThat(beforeRestart).isLessThan(expected.size());
                assertThat(duplicatesOf(receiver)).as("only notifications not yet committed are sent again").isLessThan(beforeRestart);
                assertThat(receiver.on("/hook")).allSatisfy(r -> assertThat(r.signatureValid()).isTrue());
                System.out.printf("notifier crash: %d deliveries before the kill, %d duplicates after the restart%n",
                        beforeRestart, duplicatesOf(receiver));
            } finally {
                notifier.destroy();
                notifier.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }

    static long committed(NotifierFixture fixture, Map<String, String> config) throws Exception {
        try (var admin = io.capstream.testkit.SharedStack.kafka().admin()) {
            return admin.listConsumerGroupOffsets(config.get(NotifierConfig.GROUP_ID)).partitionsToOffsetAndMetadata().get(10, TimeUnit.SECONDS)
                    .values().stream().filter(java.util.Objects::nonNull).mapToLong(o -> o.offset()).sum();
        }
    }

    static long duplicatesOf(WebhookReceiver receiver) {
        Set<String> seen = new HashSet<>();
        return receiver.on("/hook").stream().filter(r -> !seen.add(r.id())).count();
    }

    static Process launch(Path config, int n) throws Exception {
        String java = ProcessHandle.current().info().command().orElse("java");
        return new ProcessBuilder(java, "-Xmx256m", "-cp", System.getProperty("java.class.path"), NotifierService.class.getName(), config.toString())
                .redirectErrorStream(true).redirectOutput(Path.of("target", "crash-notifier-" + n + ".log").toFile()).start();
    }
}

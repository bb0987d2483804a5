package io.capstream.notifier;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.runtime.Json;
import io.capstream.schemas.ThresholdCrossed;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;

class WebhookSenderTest {
    final WebhookSender sender = new WebhookSender(Duration.ofSeconds(1), Clock.systemUTC(), Set.of());

    @Test
    void aMeterLimitsAmountsArePrintedAsQuantitiesAndMoneyAsMoney() throws Exception {
        ThresholdCrossed requests = ThresholdCrossed.newBuilder(MessageTextTest.event("0.9", "900", "throttle"))
                .setMeasure("requests").setLimit(new BigDecimal("1000").setScale(18)).build();

        JsonNode meter = Json.MAPPER.readTree(WebhookSender.payload(requests)).get("data");
        JsonNode money = Json.MAPPER.readTree(WebhookSender.payload(MessageTextTest.event("0.9", "90", "block"))).get("data");

        assertThat(meter.get("used").asText()).isEqualTo("900");
        assertThat(meter.get("limit").asText()).isEqualTo("1000");
        assertThat(money.get("used").asText()).isEqualTo("90.00");
    }

    @Test
    void aHostThatResolvesInsideIsRefusedBeforeAnyConnection() {
        assertThat(sender.destinationProblem("https://localhost/hook")).contains("local or internal");
        assertThat(sender.destinationProblem("https://127.0.0.1/hook")).contains("loopback");
        assertThat(new WebhookSender(Duration.ofSeconds(1), Clock.systemUTC(), Set.of("127.0.0.1")).destinationProblem("http://127.0.0.1:9/x")).isNull();
    }

    @Test
    void aReceiverThatAnswersAndThenDripsItsBodyDoesNotHoldTheDeliveryPastItsAnswer() throws Exception {
        try (java.net.ServerSocket server = new java.net.ServerSocket(0, 50, java.net.InetAddress.getLoopbackAddress())) {
            Thread.ofVirtual().start(() -> {
                try (java.net.Socket s = server.accept()) {
                    s.getInputStream().read(new byte[8192]);
                    java.io.OutputStream out = s.getOutputStream();
                    out.write("HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n".getBytes(java.nio.charset.StandardCharsets.US_ASCII));
                    for (int i = 0; i < 60; i++) { // a byte a second for a minute
                        out.write('x');
                        out.flush();
                        Thread.sleep(1000);
                    }
                } catch (Exception e) {
                    // the sender closed the connection: what it should do
                }
            });
            WebhookSender local = new WebhookSender(Duration.ofSeconds(1), Clock.systemUTC(), Set.of("127.0.0.1"));
            long start = System.nanoTime();
            Outcome outcome = local.send("http://127.0.0.1:" + server.getLocalPort() + "/hook", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw",
                    MessageTextTest.event("0.9", "90", "block"), java.util.List.of("0.9"));
            assertThat(outcome).isInstanceOf(Outcome.Delivered.class);
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isLessThan(Duration.ofSeconds(10)); // the answer, not the minute of body
        }
    }

    @Test
    void aHugeRetryAfterIsReadAndLeftToTheBackoffToCap() {
        Backoff backoff = new Backoff(Duration.ofSeconds(5), Duration.ofMinutes(30), Duration.ofHours(24));
        Optional<Duration> asked = sender.retryAfter(Optional.of("100000000000000000"));
        assertThat(asked).isPresent();
        assertThat(backoff.capped(asked.get())).isEqualTo(Duration.ofHours(24));
    }
}

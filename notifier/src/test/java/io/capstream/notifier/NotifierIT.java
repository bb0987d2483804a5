package io.capstream.notifier;

import static io.capstream.notifier.NotifierFixture.crossing;
import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import io.capstream.schemas.NotificationDeadLetter;
import io.capstream.testkit.FreePort;
import jakarta.mail.internet.MimeMessage;
import java.time.Clock;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** The notifier on a real broker and registry, sending to a real SMTP server (GreenMail) and real HTTP receivers. */
class NotifierIT {
    static NotifierFixture fixture;
    static GreenMail smtp;
    static WebhookReceiver receiver;
    static NotifierService notifier;

    @BeforeAll
    static void start() throws Exception {
        fixture = new NotifierFixture("notifier-it");
        smtp = new GreenMail(new ServerSetup(FreePort.pick(), "127.0.0.1", "smtp"));
        smtp.start();
        receiver = new WebhookReceiver(NotifierFixture.SECRET, Map.of(
                "/ok", call -> 200,
                "/jump", call -> 200,
                "/newcomer", call -> 200,
                "/flaky", call -> call <= 3 ? 503 : 200,
                "/gone", call -> 410,
                "/huge-retry-after", call -> 429,
                "/first-slow", call -> {
                    if (call == 1) {
                        Thread.sleep(700);
                    }
                    return 200;
                },
                "/slow", call -> {
                    Thread.sleep(6_000);
                    return 200;
                }));
        notifier = new NotifierService(NotifierConfig.from(fixture.config(smtp.getSmtp().getPort())), Clock.systemUTC());
    }

    @AfterAll
    static void stop() {
        notifier.close();
        receiver.close();
        smtp.stop();
    }

    @Test
    void crossing80And90And100PercentSendsExactlyThreeEmailsAndThreeSignedWebhooks() throws Exception {
        // given
        fixture.customer("acme", List.of("billing@acme.example"), receiver.url("/ok"));
        // when
        fixture.publish(crossing("acme", "0.8", "80.5"), crossing("acme", "0.9", "91"), crossing("acme", "1", "100.25"));
        // then
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.on("/ok").size() >= 3 && mailTo("billing@acme.example").size() >= 3);
        List<MimeMessage> mails = mailTo("billing@acme.example");
        assertThat(mails).hasSize(3);
        assertThat(mails).extracting(MimeMessage::getSubject).containsExactlyInAnyOrder(
                "acme: Team budget at 80 % ($80.50 of $100.00)",
                "acme: Team budget at 90 % ($91.00 of $100.00)",
                "acme: Team budget at 100 % ($100.25 of $100.00)");
        for (MimeMessage mail : mails) {
            String body = GreenMailUtil.getBody(mail);
            assertThat(body).contains("December 1, 2026 at 00:00 (America/Los_Angeles, UTC-08:00)");
            assertThat(body).contains("https://app.example.com/limits?customer=acme");
        }
        assertThat(mails.stream().map(GreenMailUtil::getBody).filter(b -> b.contains("are now refused"))).hasSize(1);
        assertThat(receiver.on("/ok")).hasSize(3).allSatisfy(r -> {
            assertThat(r.signatureValid()).as("signature of " + r.id()).isTrue();
            assertThat(r.body()).contains("\"type\":\"limit.threshold_crossed\"", "\"limit_id\":\"cap:team\"", "\"resets_at\":\"2026-12-01T00:00-08:00\"");
        });
        assertThat(receiver.on("/ok")).extracting(WebhookReceiver.Received::id)
                .containsExactlyInAnyOrder("acme|cap:team|2026-11-01T07:00:00Z|0.8", "acme|cap:team|2026-11-01T07:00:00Z|0.9",
                        "acme|cap:team|2026-11-01T07:00:00Z|1");
    }

    @Test
    void aReceiverThatFailsThreeTimesGetsTheNotificationAfterGrowingDelays() throws Exception {
        fixture.customer("flaky", List.of(), receiver.url("/flaky"));
        fixture.publish(crossing("flaky", "0.8", "80"));

        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.on("/flaky").size() >= 4);
        List<WebhookReceiver.Received> calls = receiver.on("/flaky");
        assertThat(calls).hasSize(4).allSatisfy(r -> assertThat(r.signatureValid()).isTrue());
        List<Duration> gaps = new ArrayList<>();
        for (int i = 1; i < calls.size(); i++) {
            gaps.add(Duration.between(calls.get(i - 1).at(), calls.get(i).at()));
        }
        assertThat(gaps.get(1)).isGreaterThanOrEqualTo(gaps.get(0).minusMillis(50));
        assertThat(gaps.get(2)).isGreaterThanOrEqualTo(gaps.get(1).minusMillis(50));
        assertThat(gaps.get(2)).isGreaterThan(gaps.get(0));
    }

    @Test
    void aReceiverThatAnswers410CausesADeadLetterWithTheReason() throws Exception {
        fixture.customer("gone", List.of(), receiver.url("/gone"));
        fixture.publish(crossing("gone", "0.8", "80"));

        List<NotificationDeadLetter> letters = new ArrayList<>();
        try (KafkaConsumer<String, NotificationDeadLetter> consumer = fixture.deadLetters()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> letters.add(r.value()));
                return letters.stream().anyMatch(l -> l.getCustomer().equals("gone"));
            });
        }
        NotificationDeadLetter letter = letters.stream().filter(l -> l.getCustomer().equals("gone")).findFirst().orElseThrow();
        assertThat(letter.getReason()).contains("410");
        assertThat(letter.getAttempts()).isEqualTo(1);
        assertThat(letter.getEvent().getId()).isEqualTo("gone|cap:team|2026-11-01T07:00:00Z|0.8");
        assertThat(receiver.on("/gone")).hasSize(1);
    }

    @Test
    void aHugeRetryAfterIsCappedAtTheHorizonSoTheNotificationIsDeadLetteredNotLost() throws Exception {
        // given a receiver that answers 429 with Retry-After: 10^17 seconds
        fixture.customer("hostile", List.of(), receiver.url("/huge-retry-after"));

        // when a crossing is published
        fixture.publish(crossing("hostile", "0.8", "80"));

        // then the notification is dead-lettered with the reason (a wait past the horizon), and the notifier stays ready
        List<NotificationDeadLetter> letters = new ArrayList<>();
        try (KafkaConsumer<String, NotificationDeadLetter> consumer = fixture.deadLetters()) {
            await().atMost(Duration.ofSeconds(30)).until(() -> {
                consumer.poll(Duration.ofMillis(200)).forEach(r -> letters.add(r.value()));
                return letters.stream().anyMatch(l -> l.getCustomer().equals("hostile"));
            });
        }
        NotificationDeadLetter letter = letters.stream().filter(l -> l.getCustomer().equals("hostile")).findFirst().orElseThrow();
        assertThat(letter.getReason()).contains("429").contains("past the retry horizon");
        assertThat(notifier.ready()).isTrue();
    }

    @Test
    void aSlowEndpointDoesNotDelayOtherCustomersNotifications() throws Exception {
        fixture.customer("sloth", List.of(), receiver.url("/slow"));
        fixture.customer("quick", List.of(), receiver.url("/ok"));
        fixture.publish(crossing("sloth", "0.8", "80"), crossing("quick", "0.8", "80"));

        await().atMost(Duration.ofSeconds(5)).until(() -> receiver.on("/ok").stream().anyMatch(r -> r.id().startsWith("quick|")));
        assertThat(receiver.on("/slow")).hasSize(1); // arrived, still being answered
    }

    @Test
    void oneEventOverThreeThresholdsReachesEachChannelInThresholdOrderEvenWhenTheFirstIsSlow() throws Exception {
        // given a receiver that takes 0.7 s to answer its first call, and a mailbox
        fixture.customer("jumper", List.of("ops@jumper.example"), receiver.url("/first-slow"));
        // when one event takes the cap from 0 to 120 % (thresholds 50, 80, 100 %, emitted lowest first)
        fixture.publish(crossing("jumper", "0.5", "120"), crossing("jumper", "0.8", "120"), crossing("jumper", "1", "120"));
        // then each channel gets them one after another, lowest first
        await().atMost(Duration.ofSeconds(30)).until(() -> receiver.on("/first-slow").size() >= 3 && mailTo("ops@jumper.example").size() >= 3);
        assertThat(receiver.on("/first-slow")).extracting(r -> r.id().substring(r.id().lastIndexOf('|') + 1)).containsExactly("0.5", "0.8", "1");
        assertThat(mailTo("ops@jumper.example")).extracting(MimeMessage::getSubject).containsExactly(
                "jumper: Team budget at 50 % ($120.00 of $100.00)", "jumper: Team budget at 80 % ($120.00 of $100.00)",
                "jumper: Team budget at 100 % ($120.00 of $100.00)");
    }

    @Test
    void aCustomerWrittenJustBeforeItsFirstCrossingIsNotifiedWhileTheCustomersViewIsStillReadingBehindIt() throws Exception {
        // given 50,000 other customers' records the notifier's customers view has yet to read, then a new customer
        fixture.otherCustomers("crowd", 50_000);
        fixture.customer("newcomer", List.of(), receiver.url("/newcomer"));
        // when its first crossing follows at once (the notifier reads it before its view reaches the customer)
        fixture.publish(crossing("newcomer", "0.8", "80"));
        // then the notification is sent all the same
        await().atMost(Duration.ofSeconds(30)).until(() -> !receiver.on("/newcomer").isEmpty());
    }

    @Test
    void aCustomerWhoWantsTheHighestGetsOneMessagePerChannelNamingEveryThresholdOfTheJump() throws Exception {
        fixture.customer("leaper", List.of("ops@leaper.example"), receiver.url("/jump"), io.capstream.policy.customer.Customer.Contacts.OnJump.HIGHEST);
        java.time.Instant at = java.time.Instant.parse("2026-11-21T10:00:00Z");
        fixture.publish(at(crossing("leaper", "0.5", "120"), at), at(crossing("leaper", "0.8", "120"), at), at(crossing("leaper", "1", "120"), at));

        await().atMost(Duration.ofSeconds(30)).until(() -> !receiver.on("/jump").isEmpty()
                && !mailTo("ops@leaper.example").isEmpty());
        Thread.sleep(1_000); // nothing else follows
        assertThat(receiver.on("/jump")).singleElement().satisfies(r -> {
            assertThat(r.id()).isEqualTo("leaper|cap:team|2026-11-01T07:00:00Z|1");
            assertThat(r.body()).contains("\"threshold\":\"1\"", "\"thresholds\":[\"0.5\",\"0.8\",\"1\"]", "It passed 50 %, 80 % and 100 % at once.");
        });
        assertThat(mailTo("ops@leaper.example")).singleElement().satisfies(m -> {
            assertThat(m.getSubject()).isEqualTo("leaper: Team budget at 100 % ($120.00 of $100.00)");
            assertThat(GreenMailUtil.getBody(m)).contains("It passed 50 %, 80 % and 100 % at once.");
        });
    }

    static io.capstream.schemas.ThresholdCrossed at(io.capstream.schemas.ThresholdCrossed e, java.time.Instant crossedAt) {
        e.setCrossedAt(crossedAt);
        return e;
    }

    static List<MimeMessage> mailTo(String address) throws Exception {
        List<MimeMessage> result = new ArrayList<>();
        for (MimeMessage m : smtp.getReceivedMessages()) {
            if (m.getAllRecipients()[0].toString().equals(address)) {
                result.add(m);
            }
        }
        return result;
    }
}

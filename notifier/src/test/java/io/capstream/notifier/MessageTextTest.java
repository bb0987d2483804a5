package io.capstream.notifier;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.schemas.ThresholdCrossed;
import java.math.BigDecimal;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class MessageTextTest {
    static ThresholdCrossed event(String threshold, String used, String action) {
        return ThresholdCrossed.newBuilder()
                .setId("acme|cap:team|2026-11-01T07:00:00Z|" + threshold).setCustomer("acme").setLimitId("cap:team").setLabel("Team budget")
                .setKind("cap").setThreshold(threshold).setUsed(new BigDecimal(used).setScale(18)).setLimit(new BigDecimal("100").setScale(18))
                .setMeasure("USD").setPeriodStart(Instant.parse("2026-11-01T07:00:00Z")).setResetsAt("2026-12-01T00:00-08:00")
                .setTimezone("America/Los_Angeles").setAction(action)
                .setRaiseCapUrl("https://app.example.com/limits?customer=acme").setUpgradeUrl(null).setTopUpUrl(null)
                .setCrossedAt(Instant.parse("2026-11-21T10:00:00Z"))
                .build();
    }

    @Test
    void saysWhichLimitHowMuchOfHowMuchAndWhenItResetsInTheCustomersTime() {
        String text = MessageText.text(event("0.9", "90.123", "block"));
        assertThat(text).contains("Team budget for acme has reached 90 %: $90.12 used of $100.00.")
                .contains("December 1, 2026 at 00:00 (America/Los_Angeles, UTC-08:00)")
                .contains("At 100 % requests that would go over it will be refused.")
                .contains("Raise the limit: https://app.example.com/limits?customer=acme");
        assertThat(MessageText.subject(event("0.9", "90", "block"))).isEqualTo("acme: Team budget at 90 % ($90.00 of $100.00)");
    }

    @Test
    void atOneHundredPercentSaysWhatIsNowBlockedOrDowngraded() {
        assertThat(MessageText.text(event("1", "100", "block"))).contains("are now refused until it resets or the limit is raised");
        assertThat(MessageText.text(event("1", "100", "downgrade"))).contains("now run on a cheaper model");
        assertThat(MessageText.html(event("1", "100", "block"))).contains("<strong>$100.00</strong> used of <strong>$100.00</strong>");
    }

    @Test
    void aJumpOverSeveralThresholdsIsToldInOneSentence() {
        assertThat(MessageText.jump(java.util.List.of("1"))).isEmpty();
        assertThat(MessageText.jump(java.util.List.of("0.8", "1"))).isEqualTo("It passed 80 % and 100 % at once.");
        assertThat(MessageText.text(event("1", "120", "block"), java.util.List.of("0.5", "0.8", "1")))
                .contains("has reached 100 %: $120.00 used of $100.00. It passed 50 %, 80 % and 100 % at once.");
    }

    @Test
    void aRunawayBreakerSaysTheRateWhatIsPausedAndHowToCloseIt() {
        ThresholdCrossed e = ThresholdCrossed.newBuilder()
                .setId("acme|runaway:key:key_9|1795446390000|1").setCustomer("acme").setLimitId("runaway:key:key_9").setLabel("Runaway spend protection")
                .setKind("runaway").setThreshold("1").setUsed(new BigDecimal("6").setScale(18)).setLimit(new BigDecimal("5").setScale(18))
                .setMeasure("USD/minute").setPeriodStart(Instant.parse("2026-11-23T15:11:30Z")).setResetsAt("2026-11-23T10:26:30-05:00")
                .setTimezone("America/New_York").setAction("block").setCrossedAt(Instant.parse("2026-11-23T15:11:30Z"))
                .build();
        assertThat(MessageText.subject(e)).isEqualTo("acme: runaway spend, $6.00 a minute (trips above $5.00 a minute)");
        assertThat(MessageText.text(e)).contains("Runaway spend protection tripped for acme (API key key_9): spend ran at $6.00 a minute, above $5.00 a minute")
                .contains("Billable requests are paused until it closes.")
                .contains("It closes by itself on November 23, 2026 at 10:26 (America/New_York, UTC-05:00), or now with POST /v1/customers/acme/runaway/reset.");
        assertThat(MessageText.html(e)).contains("<h2>Runaway spend protection tripped</h2>").contains("<p>Billable requests are paused until it closes.</p>");
        assertThat(WebhookSender.payload(e)).contains("\"type\":\"runaway.breaker_opened\"").contains("\"used\":\"6.00\"");
    }
}

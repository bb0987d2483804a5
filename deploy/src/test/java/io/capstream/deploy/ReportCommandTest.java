package io.capstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The weekly report from an analytics answer: the table's lines and a readable PNG chart. */
class ReportCommandTest {
    static final String ANSWER = """
            {"granularity": "week", "rows": [
              {"plan": "pro", "feature": "chat", "window_start": "2026-11-16T00:00:00Z", "checks": 1000, "allows": 900, "warnings": 60,
               "downgrades": 10, "refused": 30, "customers_checked": 40, "soft_hit_rate": "25.0", "hard_hit_rate": "5.0",
               "blocked_cost": "12.50", "downgrade_savings": "1.20", "breaker_trips": 1, "customers_active": 30,
               "limits": [{"limit_id": "entitlement:chat", "customers_80": 6, "customers_100": 3, "share_80": "20.0", "share_100": "10.0"}]},
              {"plan": "free", "feature": "chat", "window_start": "2026-11-23T00:00:00Z", "checks": 200, "allows": 100, "warnings": 50,
               "downgrades": 0, "refused": 50, "customers_checked": 8, "soft_hit_rate": "50.0", "hard_hit_rate": "37.5",
               "blocked_cost": "4.00", "downgrade_savings": "0.00", "breaker_trips": 0}]}
            """;

    @Test
    void printsOneLinePerWeekPlanAndFeatureAndDrawsTheLatestWeeksHitRates(@TempDir Path dir) throws Exception {
        JsonNode report = new ObjectMapper().readTree(ANSWER);
        StringWriter text = new StringWriter();
        ReportCommand.print(report, new PrintWriter(text, true));
        assertThat(text.toString().lines()).hasSize(6);
        assertThat(text.toString()).contains("2026-11-16 pro        chat").contains("25.0 %").contains("37.5 %").contains("12.50")
                .contains("entitlement:chat             80 %: 6 of 30 (20.0 %), 100 %: 3 (10.0 %)");

        Path png = dir.resolve("weekly.png");
        assertThat(ReportCommand.chart(report, png)).isTrue();
        assertThat(ImageIO.read(png.toFile())).satisfies(image -> assertThat(image.getWidth()).isEqualTo(800));
        assertThat(ReportCommand.chart(new ObjectMapper().readTree("{\"rows\": []}"), dir.resolve("none.png"))).isFalse();
        assertThat(Files.exists(dir.resolve("none.png"))).isFalse();
    }
}

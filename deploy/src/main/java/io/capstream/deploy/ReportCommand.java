package io.capstream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.LocalDate;
import java.time.ZoneOffset;
import java.time.temporal.TemporalAdjusters;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.concurrent.Callable;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.CategoryChart;
import org.knowm.xchart.CategoryChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/**
 * {@code report-weekly}: the decision metrics of the current and the previous UTC week per plan and
 * feature (GET /v1/analytics/limits, docs/analytics.md) as a table, and a PNG chart of the share of
 * checked customers that hit a soft limit (warned) and a hard limit (refused) per plan × feature.
 */
@Command(name = "report-weekly", description = "Print the weekly decision metrics per plan and feature, and draw their hit rates (PNG).")
final class ReportCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Option(names = "--key", required = true, description = "An API key with the admin scope.")
    String key;

    @Option(names = "--query-url", defaultValue = "http://localhost:8081", description = "The query API (any aggregator instance).")
    String queryUrl;

    @Option(names = "--out", description = "Where to write the chart (PNG).", defaultValue = "weekly-report.png")
    Path png;

    @Override
    public Integer call() throws Exception {
        LocalDate monday = LocalDate.now(ZoneOffset.UTC).with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY));
        String path = "/v1/analytics/limits?granularity=week&from=" + monday.minusWeeks(1) + "&to=" + monday.plusWeeks(1);
        HttpResponse<String> response = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create(queryUrl + path))
                .header("Authorization", "Bearer " + key).timeout(Duration.ofSeconds(10)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 200) {
            spec.commandLine().getErr().println("GET " + path + " answered " + response.statusCode() + ": " + response.body());
            return 1;
        }
        JsonNode report = new ObjectMapper().readTree(response.body());
        PrintWriter out = spec.commandLine().getOut();
        print(report, out);
        if (chart(report, png)) {
            out.println();
            out.println("hit rates per plan and feature: " + png.toAbsolutePath());
        }
        return 0;
    }

    /** The table: one line per week, plan and feature. */
    static void print(JsonNode report, PrintWriter out) {
        String format = "%-10s %-10s %-14s %9s %9s %8s %10s %8s %10s %10s %10s %12s %10s %6s%n";
        out.printf(Locale.ROOT, format, "week of", "plan", "feature", "checks", "allows", "warned", "downgraded", "refused",
                "customers", "soft hit", "hard hit", "blocked USD", "saved USD", "trips");
        for (JsonNode r : report.path("rows")) {
            out.printf(Locale.ROOT, format, r.path("window_start").asText().substring(0, 10), r.path("plan").asText(), r.path("feature").asText(),
                    r.path("checks").asLong(), r.path("allows").asLong(), r.path("warnings").asLong(), r.path("downgrades").asLong(),
                    r.path("refused").asLong(), r.path("customers_checked").asLong(), percent(r.path("soft_hit_rate")),
                    percent(r.path("hard_hit_rate")), r.path("blocked_cost").asText(), r.path("downgrade_savings").asText(),
                    r.path("breaker_trips").asLong());
        }
        if (report.path("rows").isEmpty()) {
            out.println("(no decisions logged in these weeks)");
        }
        boolean headed = false;
        for (JsonNode r : report.path("rows")) {
            for (JsonNode l : r.path("limits")) {
                if (!headed) {
                    out.println();
                    out.println("Limits reached, of the customers with usage of the feature:");
                    headed = true;
                }
                out.printf(Locale.ROOT, "%-10s %-10s %-14s %-28s 80 %%: %d of %d (%s), 100 %%: %d (%s)%n",
                        r.path("window_start").asText().substring(0, 10), r.path("plan").asText(), r.path("feature").asText(),
                        l.path("limit_id").asText(), l.path("customers_80").asLong(), r.path("customers_active").asLong(),
                        percent(l.path("share_80")), l.path("customers_100").asLong(), percent(l.path("share_100")));
            }
        }
    }

    private static String percent(JsonNode rate) {
        return rate.isNull() || rate.isMissingNode() ? "-" : rate.asText() + " %";
    }

    /** A bar chart of the latest week's soft and hard hit rates per plan × feature with checked customers; false when there is none. */
    static boolean chart(JsonNode report, Path png) throws IOException {
        String latest = null;
        for (JsonNode r : report.path("rows")) {
            String week = r.path("window_start").asText();
            latest = latest == null || week.compareTo(latest) > 0 ? week : latest;
        }
        if (latest == null) {
            return false;
        }
        List<String> cells = new ArrayList<>();
        List<Double> soft = new ArrayList<>();
        List<Double> hard = new ArrayList<>();
        for (JsonNode r : report.path("rows")) {
            if (r.path("window_start").asText().equals(latest) && r.path("customers_checked").asLong() > 0) {
                cells.add(r.path("plan").asText() + " × " + r.path("feature").asText());
                soft.add(r.path("soft_hit_rate").isNull() ? 0 : r.path("soft_hit_rate").asDouble());
                hard.add(r.path("hard_hit_rate").isNull() ? 0 : r.path("hard_hit_rate").asDouble());
            }
        }
        if (cells.isEmpty()) {
            return false;
        }
        System.setProperty("java.awt.headless", "true");
        CategoryChart chart = new CategoryChartBuilder().width(Math.max(800, 110 * cells.size())).height(480)
                .title("Customers who hit a limit, week of " + latest.substring(0, 10) + " (UTC)").xAxisTitle("plan × feature")
                .yAxisTitle("% of customers checked").build();
        chart.getStyler().setYAxisMin(0.0);
        chart.getStyler().setYAxisMax(100.0);
        chart.getStyler().setXAxisLabelRotation(30);
        chart.getStyler().setLegendPosition(org.knowm.xchart.style.Styler.LegendPosition.OutsideS);
        chart.getStyler().setLegendLayout(org.knowm.xchart.style.Styler.LegendLayout.Horizontal);
        chart.addSeries("soft limit (warned at 80 % or more)", cells, soft);
        chart.addSeries("hard limit (refused)", cells, hard);
        Path parent = png.toAbsolutePath().getParent();
        if (parent != null) {
            Files.createDirectories(parent);
        }
        BitmapEncoder.saveBitmap(chart, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        return true;
    }
}

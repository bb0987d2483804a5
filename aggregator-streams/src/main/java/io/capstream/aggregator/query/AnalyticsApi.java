package io.capstream.aggregator.query;

import com.fasterxml.jackson.annotation.JsonProperty;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.input.Problem;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.schemas.EnforcementMetrics;
import io.capstream.schemas.topics.TopicView;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * {@code GET /v1/analytics/limits} (admin): the decision metrics per plan, feature and UTC day or week
 * (docs/analytics.md), read from this instance's view of the compacted {@code enforcement-metrics} topic,
 * so any instance answers for every plan.
 */
public final class AnalyticsApi {
    /** The longest span one request lists. */
    static final int MAX_WINDOWS = 400;
    private final TopicView<EnforcementMetrics> metrics;
    private final ApiKeys keys;
    private final Clock clock;

    public AnalyticsApi(TopicView<EnforcementMetrics> metrics, ApiKeys keys, Clock clock) {
        this.metrics = metrics;
        this.keys = keys;
        this.clock = clock;
    }

    public void routes(JavalinConfig config) {
        config.routes.get("/v1/analytics/limits", this::limits);
    }

    /** One plan's and feature's figures in one window, with the hit rates. */
    public record Row(String plan, String feature, Instant windowStart, Instant windowEnd, long checks, long allows, long warnings,
                      long downgrades, long refused, Map<String, Long> refusals, long customersChecked, long customersSoft,
                      long customersHard, String softHitRate, String hardHitRate, String blockedCost, String downgradeSavings,
                      long breakerTrips, long customersActive, List<LimitShare> limits) {
        public static Row of(EnforcementMetrics m) {
            long refused = m.getRefusals().values().stream().mapToLong(Long::longValue).sum();
            List<LimitShare> limits = new TreeMap<>(m.getLimits()).entrySet().stream().map(e -> new LimitShare(e.getKey(),
                    e.getValue().getCustomers80(), e.getValue().getCustomers100(), rate(e.getValue().getCustomers80(), m.getCustomersActive()),
                    rate(e.getValue().getCustomers100(), m.getCustomersActive()))).toList();
            return new Row(m.getPlan(), m.getFeature(), m.getWindowStart(), m.getWindowEnd(), m.getChecks(), m.getAllows(), m.getWarnings(),
                    m.getDowngrades(), refused, new TreeMap<>(m.getRefusals()), m.getCustomersChecked(), m.getCustomersSoft(),
                    m.getCustomersHard(), rate(m.getCustomersSoft(), m.getCustomersChecked()), rate(m.getCustomersHard(), m.getCustomersChecked()),
                    Decimals.formatMoney(m.getBlockedCost()), Decimals.formatMoney(m.getDowngradeSavings()), m.getBreakerTrips(),
                    m.getCustomersActive(), limits);
        }

        /** A share in percent with one decimal ("12.5"), or null without customers. */
        private static String rate(long part, long whole) {
            return whole == 0 ? null : BigDecimal.valueOf(part * 100).divide(BigDecimal.valueOf(whole), 1, RoundingMode.HALF_UP).toPlainString();
        }
    }

    /** A limit's customers that reached 80 % and 100 % in the window, and their share of the feature's active customers (percent). */
    public record LimitShare(String limitId, @JsonProperty("customers_80") long customers80, @JsonProperty("customers_100") long customers100,
                             @JsonProperty("share_80") String share80, @JsonProperty("share_100") String share100) {}

    public record Report(String granularity, Instant from, Instant to, List<Row> rows, Instant asOf) {}

    private void limits(Context ctx) {
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.isAdmin()) {
            throw ApiException.forbidden("analytics need an API key with the 'admin' scope");
        }
        List<Problem> problems = new ArrayList<>();
        String granularity = ctx.queryParam("granularity") == null ? "day" : ctx.queryParam("granularity");
        if (!granularity.equals("day") && !granularity.equals("week")) {
            problems.add(new Problem("granularity", "day or week"));
        }
        Instant now = clock.instant();
        Duration width = Duration.ofDays(granularity.equals("week") ? 7 : 1);
        Instant to = time(ctx.queryParam("to"), "to", problems, now.truncatedTo(ChronoUnit.DAYS).plus(Duration.ofDays(1)));
        Instant from = time(ctx.queryParam("from"), "from", problems, to.minus(width.multipliedBy(granularity.equals("week") ? 4 : 7)));
        if (problems.isEmpty() && !to.isAfter(from)) {
            problems.add(new Problem("to", "must be after from"));
        }
        if (problems.isEmpty() && Duration.between(from, to).compareTo(width.multipliedBy(MAX_WINDOWS)) > 0) {
            problems.add(new Problem("to", "at most " + MAX_WINDOWS + " " + granularity + "s from from"));
        }
        if (!problems.isEmpty()) {
            throw ApiException.invalidQuery(problems);
        }
        String plan = ctx.queryParam("plan");
        String feature = ctx.queryParam("feature");
        List<Row> rows = metrics.values().stream()
                .filter(m -> m.getGranularity().equals(granularity) && (plan == null || plan.equals(m.getPlan()))
                        && (feature == null || feature.equals(m.getFeature()))
                        && !m.getWindowStart().isBefore(from) && m.getWindowStart().isBefore(to))
                .sorted(Comparator.comparing(EnforcementMetrics::getWindowStart).thenComparing(EnforcementMetrics::getPlan)
                        .thenComparing(EnforcementMetrics::getFeature))
                .map(Row::of).toList();
        HttpServer.json(ctx, 200, new Report(granularity, from, to, rows, now));
    }

    /** An RFC 3339 time or a date (UTC midnight); {@code otherwise} when absent. */
    private static Instant time(String text, String field, List<Problem> problems, Instant otherwise) {
        if (text == null) {
            return otherwise;
        }
        try {
            if (text.length() > 40) {
                throw new DateTimeParseException("too long", text, 0);
            }
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(ZoneOffset.UTC).toInstant() : OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            problems.add(new Problem(field, "an RFC 3339 time (2026-11-23T00:00:00Z) or a date (2026-11-23, UTC midnight)"));
            return otherwise;
        }
    }
}

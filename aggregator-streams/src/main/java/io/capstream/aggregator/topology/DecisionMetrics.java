package io.capstream.aggregator.topology;

import io.capstream.policy.decision.Decision;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.Period;
import io.capstream.schemas.EnforcementMetrics;
import io.capstream.schemas.LimitHits;
import io.capstream.schemas.MetricsContribution;
import java.math.BigDecimal;
import java.time.DayOfWeek;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.temporal.ChronoUnit;
import java.time.temporal.TemporalAdjusters;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;

/**
 * What the decision metrics count (docs/analytics.md): per plan, feature and UTC day or week (weeks start
 * on Monday), the checks by outcome and refusal code, distinct customers warned and refused by a limit,
 * the estimated cost refused and saved by downgrades, runaway breaker trips, and per limit the distinct
 * customers whose usage reached 80 % and 100 % among those with usage of the feature.
 */
final class DecisionMetrics {
    static final String DECISION = "decision";
    static final String TRIP = "trip";
    static final String USAGE = "usage";
    static final String LIMIT = "limit";
    /** The feature a limit without one (a cap on all spend) counts under. */
    static final String ALL_FEATURES = "*";
    /** The plan of a customer without one (no record, and no default plan in the policy). */
    static final String NO_PLAN = "(none)";
    static final List<String> GRANULARITIES = List.of("day", "week");

    private DecisionMetrics() {}

    /** The key of the metrics input: every contribution to one plan and feature goes to one task. */
    static String key(String plan, String feature) {
        return plan + '|' + feature;
    }

    /** The key of one window's metrics ({@code enforcement-metrics}, the store). */
    static String key(String plan, String feature, String granularity, Instant windowStart) {
        return plan + '|' + feature + '|' + granularity + '|' + windowStart;
    }

    /**
     * How many windows of each granularity are kept: as many as one analytics request lists (docs/analytics.md). An older window
     * is deleted when its plan and feature open a new one ({@code DecisionMetricsProcessor}), so that the topic and every
     * instance's view of it hold a bounded number of windows, not every day since the start.
     */
    static final int KEPT_WINDOWS = 400;

    /** The start before which the windows of {@code granularity} are no longer kept once the window starting at {@code start} opens (it is the last of them). */
    static Instant keptFrom(String granularity, Instant start) {
        return start.minus(Duration.ofDays(("day".equals(granularity) ? 1L : 7L) * (KEPT_WINDOWS - 1)));
    }

    /** The UTC day or the week (from Monday, UTC) that holds {@code at}. */
    static Period window(String granularity, Instant at) {
        Instant day = at.truncatedTo(ChronoUnit.DAYS);
        if ("day".equals(granularity)) {
            return new Period(day, day.plus(Duration.ofDays(1)));
        }
        Instant monday = day.atOffset(ZoneOffset.UTC).with(TemporalAdjusters.previousOrSame(DayOfWeek.MONDAY)).toInstant();
        return new Period(monday, monday.plus(Duration.ofDays(7)));
    }

    static EnforcementMetrics empty(String plan, String feature, String granularity, Period window) {
        BigDecimal zero = Decimals.money(BigDecimal.ZERO);
        return new EnforcementMetrics(plan, feature, granularity, window.start(), window.end(), 0L, 0L, 0L, 0L, new HashMap<>(), 0L, 0L, 0L,
                zero, zero, 0L, 0L, new HashMap<>(), window.start());
    }

    /** Which distinct-customer counts a contribution adds its customer to: checked, soft (warned), hard (refused by a limit). */
    static List<String> customerKinds(MetricsContribution c) {
        if (USAGE.equals(c.getKind())) {
            return List.of("active");
        }
        if (LIMIT.equals(c.getKind())) {
            BigDecimal reached = new BigDecimal(c.getThreshold());
            return reached.compareTo(BigDecimal.ONE) >= 0 ? List.of("80:" + c.getLimitId(), "100:" + c.getLimitId())
                    : reached.compareTo(EIGHTY) >= 0 ? List.of("80:" + c.getLimitId()) : List.of();
        }
        if (!DECISION.equals(c.getKind())) {
            return List.of();
        }
        return switch (c.getDecision()) {
            case "warn" -> List.of("checked", "soft");
            case "refuse" -> isLimit(c.getCode()) ? List.of("checked", "hard") : List.of("checked");
            default -> List.of("checked");
        };
    }

    /** The least threshold a limit's hit rates count (a soft limit's usual warning). */
    static final BigDecimal EIGHTY = new BigDecimal("0.8");

    private static boolean isLimit(String code) {
        try {
            return code != null && Decision.Code.valueOf(code.toUpperCase(Locale.ROOT)).isLimit();
        } catch (IllegalArgumentException e) { // a code of a newer sidecar
            return false;
        }
    }

    /** Adds a contribution's counts and amounts (not its distinct customers) to {@code m}. */
    static void add(EnforcementMetrics m, MetricsContribution c) {
        if (TRIP.equals(c.getKind())) {
            m.setBreakerTrips(m.getBreakerTrips() + 1);
            return;
        }
        if (!DECISION.equals(c.getKind())) {
            return; // usage and limits count distinct customers only
        }
        long n = c.getRepresents();
        m.setChecks(m.getChecks() + n);
        switch (c.getDecision()) {
            case "allow" -> m.setAllows(m.getAllows() + n);
            case "warn" -> m.setWarnings(m.getWarnings() + n);
            case "downgrade" -> {
                m.setDowngrades(m.getDowngrades() + n);
                if (c.getSavings() != null) {
                    m.setDowngradeSavings(Decimals.money(m.getDowngradeSavings().add(c.getSavings())));
                }
            }
            default -> {
                m.getRefusals().merge(c.getCode(), n, Long::sum);
                if (c.getCost() != null) {
                    m.setBlockedCost(Decimals.money(m.getBlockedCost().add(c.getCost())));
                }
            }
        }
    }

    /** Counts the customer once more in a distinct count of {@code kind}. */
    static void countCustomer(EnforcementMetrics m, String kind) {
        if (kind.startsWith("80:") || kind.startsWith("100:")) {
            String limitId = kind.substring(kind.indexOf(':') + 1);
            LimitHits hits = m.getLimits().computeIfAbsent(limitId, id -> new LimitHits(0L, 0L));
            if (kind.startsWith("80:")) {
                hits.setCustomers80(hits.getCustomers80() + 1);
            } else {
                hits.setCustomers100(hits.getCustomers100() + 1);
            }
            return;
        }
        switch (kind) {
            case "soft" -> m.setCustomersSoft(m.getCustomersSoft() + 1);
            case "hard" -> m.setCustomersHard(m.getCustomersHard() + 1);
            case "active" -> m.setCustomersActive(m.getCustomersActive() + 1);
            default -> m.setCustomersChecked(m.getCustomersChecked() + 1);
        }
    }
}

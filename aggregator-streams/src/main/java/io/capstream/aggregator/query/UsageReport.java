package io.capstream.aggregator.query;

import io.capstream.schemas.topics.UsageKey;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.limit.LimitIds;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.limit.LimitState;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.Period;
import io.capstream.policy.catalogue.Plan;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.booking.Projection;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.Quantity;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Function;

/**
 * What {@code GET /v1/customers/{id}/usage} answers: every entitlement and cap with its period, reset
 * time in the limit's timezone, limit, used, remaining, percent, state and thresholds crossed; the
 * features' usage this billing period with the accounting split; grants with their balances; and the
 * projected bill; and the runaway circuit breakers open now. DTOs only (money as decimal strings), never Avro objects.
 */
public record UsageReport(String customer, String plan, String timezone, String status, PeriodView billingPeriod,
                          List<LimitView> limits, List<FeatureView> features, List<GrantView> grants, BillView bill,
                          String totalCost, boolean stale, List<RunawayView> runaway) {
    /** An open runaway circuit breaker: what tripped it, what it does, when it closes by itself, and the way out, in a sentence. */
    public record RunawayView(String id, String apiKey, String action, String rate, String baseline, String tripRate, OffsetDateTime openedAt,
                              OffsetDateTime closesAt, String message) {
        static RunawayView of(io.capstream.policy.runaway.Breaker b) {
            return new RunawayView(b.limitId(), b.apiKey().orElse(null), b.action().name().toLowerCase(Locale.ROOT), Decimals.formatMoney(b.rate()),
                    Decimals.formatMoney(b.baseline()), Decimals.formatMoney(b.tripRate()), at(b.openedAt(), b.timezone()), at(b.closesAt(), b.timezone()),
                    b.cause() + " " + b.wayOut());
        }
    }

    public record PeriodView(OffsetDateTime start, OffsetDateTime end, OffsetDateTime resetsAt) {}

    public record LimitView(String id, String kind, String label, String feature, String measure, OffsetDateTime periodStart,
                            OffsetDateTime resetsAt, String limit, String used, String remaining, String percent, String state,
                            List<String> thresholds, List<String> thresholdsCrossed, String action) {}

    public record FeatureView(String feature, String cost, String included, String grantCovered, String billed, long events,
                              List<QuantityView> quantities) {}

    public record QuantityView(String meter, String model, String quantity) {}

    public record GrantView(String id, String category, String amount, String remaining, OffsetDateTime effectiveAt,
                            OffsetDateTime expiresAt, String feature, boolean active) {}

    public record BillView(String planPrice, String billedOverageSoFar, String projectedTotal, String method) {}

    /**
     * @param entries the customer's entries of the limits store, by key
     */
    static UsageReport build(Customer customer, PolicyDocument policy, Map<String, LimitUsage> entries, Instant now, boolean stale) {
        return build(customer, policy, entries, List.of(), now, stale);
    }

    /** @param breakers the customer's runaway breakers (those open at {@code now} are reported) */
    static UsageReport build(Customer customer, PolicyDocument policy, Map<String, LimitUsage> entries,
                             List<io.capstream.policy.runaway.Breaker> breakers, Instant now, boolean stale) {
        Function<String, LimitUsage> lookup = entries::get;
        ZoneId zone = customer.timezone();
        Optional<Plan> plan = policy.plan(customer.plan());
        Period billing = new ResetSchedule.Monthly(customer.billingAnchorDay()).periodAt(now, zone);
        List<LimitView> limits = new ArrayList<>();
        for (Limit limit : customer.limits(plan)) {
            Period period = limit.periodAt(customer, now);
            LimitUsage r = lookup.apply(UsageKey.of(customer.id(), limit.limitId(), period.start()));
            limits.add(limit(limit, period, limit.zone(customer), r));
        }
        List<FeatureView> features = new ArrayList<>();
        BigDecimal billed = BigDecimal.ZERO;
        BigDecimal total = BigDecimal.ZERO;
        for (String feature : featuresOf(entries, billing)) {
            LimitUsage r = lookup.apply(UsageKey.of(customer.id(), io.capstream.policy.limit.LimitIds.feature(feature), billing.start()));
            if (r == null) {
                continue;
            }
            billed = billed.add(r.getBilled());
            total = total.add(r.getCost());
            features.add(new FeatureView(feature, Decimals.formatMoney(r.getCost()), Decimals.formatMoney(r.getIncluded()),
                    Decimals.formatMoney(r.getGrantCovered()), Decimals.formatMoney(r.getBilled()), r.getEvents(),
                    r.getQuantities().stream()
                            .sorted(Comparator.comparing(Quantity::getMeter).thenComparing(q -> q.getModel() == null ? "" : q.getModel()))
                            .map(q -> new QuantityView(q.getMeter(), q.getModel(), Decimals.formatQuantity(q.getQuantity())))
                            .toList()));
        }
        List<GrantView> grants = new ArrayList<>();
        for (Grant g : customer.grants()) {
            LimitUsage r = lookup.apply(UsageKey.of(customer.id(), LimitIds.grant(g.id()), g.effectiveAt()));
            BigDecimal remaining = g.amount().subtract(r == null ? BigDecimal.ZERO : r.getUsed()).max(BigDecimal.ZERO);
            grants.add(new GrantView(g.id(), g.category(), Decimals.formatMoney(g.amount()), Decimals.formatMoney(remaining),
                    at(g.effectiveAt(), zone), g.expiresAt().map(x -> at(x, zone)).orElse(null), g.feature().orElse(null),
                    g.activeAt(now)));
        }
        BigDecimal planPrice = plan.map(Plan::price).orElse(BigDecimal.ZERO);
        BillView bill = new BillView(Decimals.formatMoney(planPrice), Decimals.formatMoney(billed),
                Decimals.formatMoney(Projection.projectedBill(planPrice, billed, billing, now)),
                "projection: plan price plus the billed overage so far extrapolated linearly to the end of the billing period");
        return new UsageReport(customer.id(), customer.plan(), zone.getId(), customer.status().name().toLowerCase(Locale.ROOT),
                new PeriodView(at(billing.start(), zone), at(billing.end(), zone), at(billing.end(), zone)),
                limits, features, grants, bill, Decimals.formatMoney(total), stale,
                breakers.stream().filter(b -> b.openAt(now)).map(RunawayView::of).toList());
    }

    private static LimitView limit(Limit l, Period period, ZoneId zone, LimitUsage r) {
        BigDecimal limit = l.amount();
        Measure measure = l.measure();
        BigDecimal used = r == null ? BigDecimal.ZERO : r.getUsed();
        List<String> crossed = r == null ? List.of() : r.getThresholdsCrossed().stream()
                .filter(t -> io.capstream.policy.limit.Thresholds.reached(used, limit, new BigDecimal(t))).toList();
        return new LimitView(l.limitId(), l.kind(), l.displayLabel(), l.feature(), measure.name(), at(period.start(), zone), at(period.end(), zone),
                amount(limit, measure), amount(used, measure), amount(LimitState.remaining(used, limit), measure),
                LimitState.percent(used, limit).toPlainString(), LimitState.of(used, limit, l.thresholds()).name().toLowerCase(Locale.ROOT),
                l.thresholds().stream().map(BigDecimal::toPlainString).toList(), crossed, l.action().name().toLowerCase(Locale.ROOT));
    }

    private static List<String> featuresOf(Map<String, LimitUsage> entries, Period billing) {
        return entries.values().stream()
                .filter(r -> io.capstream.policy.booking.Booking.Total.FEATURE.equals(r.getKind()) && r.getPeriodStart().equals(billing.start()))
                .map(LimitUsage::getFeature).sorted().toList();
    }

    private static String amount(BigDecimal value, Measure measure) {
        return measure.isMoney() ? Decimals.formatMoney(value) : Decimals.formatQuantity(value);
    }

    private static OffsetDateTime at(Instant t, ZoneId zone) {
        return t.atZone(zone).toOffsetDateTime();
    }
}

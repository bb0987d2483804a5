package io.capstream.policy.booking;

import io.capstream.policy.catalogue.Plan;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.limit.LimitIds;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.Period;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.policy.limit.Thresholds;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;

/**
 * Booking, pure (DESIGN 4.2–4.4): given a priced event, the customer, the policy and the current
 * running totals, the totals it changes and the thresholds it crosses. The aggregator only reads and
 * writes the totals; every rule is here, looping over {@link Customer#limits} once.
 *
 * <p>Per event: the included part from the limit that includes usage (the feature's entitlement),
 * grants burned in order, the feature's totals with the split, then every matching limit counting what
 * it counts in its own period and timezone.
 */
public final class Booking {
    private Booking() {}

    /** The current total of a limit (or feature or grant) id in the period starting at {@code periodStart}, if one is kept. */
    public interface Totals {
        Optional<Total> get(String id, Instant periodStart);
    }

    /**
     * One event, priced: what it used per meter and what that cost.
     *
     * @param totalFeature the feature whose billing-period total counts it ({@link #totalFeature}): its own, or
     *                     {@link #OTHER_FEATURE}; limits and grants always match {@code feature}
     */
    public record PricedUsage(String feature, String model, String user, String apiKey, Instant time, Map<String, BigDecimal> usage,
                              BigDecimal cost, String totalFeature) {
        /** Totalled under its own feature. */
        public PricedUsage(String feature, String model, String user, String apiKey, Instant time, Map<String, BigDecimal> usage, BigDecimal cost) {
            this(feature, model, user, apiKey, time, usage, cost, feature);
        }
    }

    /**
     * The most features a customer's billing period keeps a total of their own: features are free text that any key of the
     * customer may send, and each total is a store entry, a record on usage-aggregates and an entry in every sidecar's memory.
     */
    public static final int MAX_FEATURE_TOTALS = 100;

    /** The feature whose total counts the usage of a customer's features beyond {@link #MAX_FEATURE_TOTALS} in a period. */
    public static final String OTHER_FEATURE = Series.OTHER;

    /**
     * The feature whose total in the billing period starting at {@code billingStart} counts usage of {@code feature}: its own
     * when it has a total there, when one of the customer's limits or grants names it (their number is bounded by the
     * configuration, and their rules read the feature's own split), or when it may open one and the period keeps fewer than
     * {@link #MAX_FEATURE_TOTALS} of its own ({@code kept}, asked only then); {@link #OTHER_FEATURE} otherwise. Sums stay exact
     * and limits and grants still match the event's own feature: only finance's breakdown by feature of a customer with very
     * many features is coarser.
     *
     * <p>Taking a booked event back ({@link #reverse} of an amendment) must not open: its usage was totalled under its own
     * feature exactly when that has a total now, since a period's feature totals are never dropped while the period is open
     * and open no more once there are {@link #MAX_FEATURE_TOTALS} (unless a limit or grant naming the feature came since).
     *
     * @param limits the customer's limits ({@code customer.limits(plan)})
     * @param kept   how many features the period keeps a total of, {@link #OTHER_FEATURE} not counted
     */
    public static String totalFeature(String feature, Customer customer, List<Limit> limits, Instant billingStart, Totals totals,
                                      java.util.function.IntSupplier kept, boolean mayOpen) {
        if (totals.get(LimitIds.feature(feature), billingStart).isPresent()) {
            return feature;
        }
        for (Limit l : limits) {
            if (feature.equals(l.feature())) {
                return feature;
            }
        }
        for (Grant g : customer.grants()) {
            if (g.feature().map(feature::equals).orElse(false)) {
                return feature;
            }
        }
        return mayOpen && kept.getAsInt() < MAX_FEATURE_TOTALS ? feature : OTHER_FEATURE;
    }

    /** A threshold of a limit crossed by a change, with the limit's total after it. */
    public record Crossing(Limit limit, Total total, BigDecimal threshold) {}

    /**
     * The totals a change wrote (each once) and the thresholds it crossed, lowest first per limit; for a
     * booked event, also its cost's split (what {@link Series} buckets count).
     */
    public record Result(List<Total> changed, List<Crossing> crossings, Optional<Accounting.Split> split) {}

    /** Books one event (its id already known to be new). */
    public static Result book(PricedUsage e, Customer customer, PolicyDocument policy, Totals totals) {
        return book(e, customer, customer.limits(policy.plan(customer.plan())), totals);
    }

    /**
     * Books one event with the customer's limits under the policy in force already listed
     * ({@code customer.limits(policy.plan(customer.plan()))}: a caller that books many events keeps the list).
     */
    public static Result book(PricedUsage e, Customer customer, List<Limit> customerLimits, Totals totals) {
        List<Limit> limits = new ArrayList<>(customerLimits.size());
        for (Limit l : customerLimits) {
            if (l.matches(e.feature(), e.model(), e.user(), e.apiKey())) {
                limits.add(l);
            }
        }
        Changes changes = new Changes(totals);
        BigDecimal cost = e.cost();

        // 1–3. the included part, from the limit that includes usage
        Optional<Limit> allowance = includingUsage(limits);
        BigDecimal included = allowance.map(a -> {
            Total before = changes.get(a.limitId(), a.periodAt(customer, e.time()), a, customer);
            return Accounting.includedPart(allowance, cost, a.estimated(cost, e.usage()), before.used());
        }).orElse(BigDecimal.ZERO);

        // 4–5. grants by burn order, then billed
        List<Accounting.GrantBalance> balances = new ArrayList<>();
        for (Grant g : customer.grants()) {
            BigDecimal burned = totals.get(LimitIds.grant(g.id()), g.effectiveAt()).map(Total::used).orElse(BigDecimal.ZERO);
            balances.add(new Accounting.GrantBalance(g, g.amount().subtract(burned)));
        }
        Accounting.Split split = Accounting.split(cost, included, balances, e.time(), e.feature());
        for (Map.Entry<String, BigDecimal> burn : split.grantBurns().entrySet()) {
            Grant g = customer.grants().stream().filter(x -> x.id().equals(burn.getKey())).findFirst().orElseThrow();
            Total t = changes.grant(g, customer);
            changes.put(t.with(t.used().add(burn.getValue()), g.amount(), t.events() + 1, later(t.updatedAt(), e.time()), t.crossed()));
        }

        // the feature's totals in the billing period, for finance
        Period billing = new ResetSchedule.Monthly(customer.billingAnchorDay()).periodAt(e.time(), customer.timezone());
        String featureId = LimitIds.feature(e.totalFeature());
        Total f = changes.getOrEmpty(featureId, billing.start(),
                () -> Total.empty(featureId, Total.FEATURE, e.totalFeature(), billing, customer.timezone(), Measure.USD.name()));
        changes.put(f.booked(cost, split, e.model(), e.usage(), e.time()));

        // 6. every matching limit, in its own period and timezone
        for (Limit limit : limits) {
            Total t = changes.get(limit.limitId(), limit.periodAt(customer, e.time()), limit, customer);
            changes.count(limit, t.withCost(cost, e.time()), limit.counted(split, e.usage()));
        }
        return changes.result(Optional.of(split));
    }

    /**
     * Takes an event back, as far as the totals can tell as if it had never been booked (a void, the first half of a
     * replacement, or a negative adjustment): its cost comes off the feature's billed part first, then off what grants
     * covered (the grant burned last first), then off the included part, which for an entitlement in money is exactly
     * the split the remaining usage would have had ({@link Accounting#unsplit}). Every matching limit counts the
     * negative amounts; thresholds already crossed stay crossed (nothing is notified downward), and a cap back below its
     * limit no longer refuses.
     *
     * @param e     the event as it was booked, with its booked cost (all amounts non-negative)
     * @param count how the events counted change: -1 for an event voided, +1 for a negative adjustment (an event of its own)
     */
    public static Result reverse(PricedUsage e, Customer customer, List<Limit> customerLimits, Totals totals, long count) {
        List<Limit> limits = new ArrayList<>(customerLimits.size());
        for (Limit l : customerLimits) {
            if (l.matches(e.feature(), e.model(), e.user(), e.apiKey())) {
                limits.add(l);
            }
        }
        Changes changes = new Changes(totals);
        Period billing = new ResetSchedule.Monthly(customer.billingAnchorDay()).periodAt(e.time(), customer.timezone());
        String featureId = LimitIds.feature(e.totalFeature());
        Total f = changes.getOrEmpty(featureId, billing.start(),
                () -> Total.empty(featureId, Total.FEATURE, e.totalFeature(), billing, customer.timezone(), Measure.USD.name()));
        List<Accounting.GrantBalance> burned = new ArrayList<>();
        for (Grant g : customer.grants()) {
            if (g.appliesTo(e.feature())) {
                BigDecimal used = totals.get(LimitIds.grant(g.id()), g.effectiveAt()).map(Total::used).orElse(BigDecimal.ZERO);
                burned.add(new Accounting.GrantBalance(g, used));
            }
        }
        Accounting.Split split = Accounting.unsplit(e.cost(), f.included(), f.grantCovered(), f.billed(), burned);
        for (Map.Entry<String, BigDecimal> burn : split.grantBurns().entrySet()) {
            Grant g = customer.grants().stream().filter(x -> x.id().equals(burn.getKey())).findFirst().orElseThrow();
            Total t = changes.grant(g, customer);
            changes.put(t.with(t.used().add(burn.getValue()), g.amount(), t.events() + count, later(t.updatedAt(), e.time()), t.crossed()));
        }
        Map<String, BigDecimal> negative = new java.util.LinkedHashMap<>();
        e.usage().forEach((meter, q) -> negative.put(meter, q.negate()));
        changes.put(f.booked(split.cost(), split, e.model(), negative, e.time(), count));
        for (Limit limit : limits) {
            Total t = changes.get(limit.limitId(), limit.periodAt(customer, e.time()), limit, customer);
            changes.count(limit, t.withCost(split.cost(), e.time(), count), limit.counted(split, negative));
        }
        return changes.result(Optional.of(split));
    }

    /**
     * Applies a customer's new configuration to the current periods of its limits at {@code at}: a raised
     * limit re-arms the thresholds no longer reached, a lowered one crosses at once. A cap new in its period
     * starts from the spend so far when that can be known from the feature totals ({@link #spendSoFar});
     * other new limits start when usage comes.
     *
     * @param featureTotals the customer's feature totals (any periods), read only when a new cap needs them
     */
    public static Result reconfigure(Customer customer, PolicyDocument policy, Totals totals,
                                     java.util.function.Supplier<List<Total>> featureTotals, Instant at) {
        Changes changes = new Changes(totals);
        for (Limit limit : customer.limits(policy.plan(customer.plan()))) {
            Period period = limit.periodAt(customer, at);
            Optional<Total> current = totals.get(limit.limitId(), period.start());
            if (current.isPresent()) {
                changes.count(limit, current.get(), BigDecimal.ZERO);
            } else if (limit instanceof Cap cap) {
                spendSoFar(customer, cap, period, featureTotals).ifPresent(used ->
                        changes.count(limit, Total.empty(limit.limitId(), limit.kind(), limit.feature(), period, limit.zone(customer),
                                limit.measure().name()), used));
            }
        }
        return changes.result(Optional.empty());
    }

    /**
     * What a cap new in its current period has already used, when the feature totals tell: a USD cap on
     * the billing period, in the customer's timezone, filtered by feature at most.
     */
    static Optional<BigDecimal> spendSoFar(Customer customer, Cap cap, Period period, java.util.function.Supplier<List<Total>> featureTotals) {
        Period billing = new ResetSchedule.Monthly(customer.billingAnchorDay()).periodAt(period.start(), customer.timezone());
        boolean derivable = cap.measure().isMoney() && billing.equals(period) && cap.zone(customer).equals(customer.timezone())
                && cap.filter().model() == null && cap.filter().user() == null && cap.filter().apiKey() == null;
        if (!derivable) {
            return Optional.empty();
        }
        BigDecimal used = BigDecimal.ZERO;
        for (Total f : featureTotals.get()) {
            if (Total.FEATURE.equals(f.kind()) && f.period().start().equals(period.start())
                    && (cap.filter().feature() == null || cap.filter().feature().equals(f.feature()))) {
                used = used.add(cap.counted(new Accounting.Split(f.cost(), f.included(), f.grantCovered(), f.billed(), Map.of()), Map.of()));
            }
        }
        return Optional.of(used);
    }

    private static Optional<Limit> includingUsage(List<Limit> limits) {
        for (Limit l : limits) {
            if (l.includes()) {
                return Optional.of(l);
            }
        }
        return Optional.empty();
    }

    private static Instant later(Instant a, Instant b) {
        return b.isAfter(a) ? b : a;
    }

    /** The totals changed so far by one booking, read through to the current ones. */
    private static final class Changes {
        private final Totals totals;
        private record Key(String id, Instant periodStart) {}
        private final Map<Key, Total> changed = new java.util.LinkedHashMap<>();
        private final List<Crossing> crossings = new ArrayList<>();

        Changes(Totals totals) {
            this.totals = totals;
        }

        Total getOrEmpty(String id, Instant periodStart, java.util.function.Supplier<Total> empty) {
            Total t = changed.get(new Key(id, periodStart));
            return t != null ? t : totals.get(id, periodStart).orElseGet(empty);
        }

        Total get(String id, Period period, Limit limit, Customer customer) {
            return getOrEmpty(id, period.start(),
                    () -> Total.empty(id, limit.kind(), limit.feature(), period, limit.zone(customer), limit.measure().name()));
        }

        Total grant(Grant g, Customer customer) {
            Period life = new Period(g.effectiveAt(), g.expiresAt().orElse(ResetSchedule.Never.ALL_TIME.end()));
            return getOrEmpty(LimitIds.grant(g.id()), g.effectiveAt(),
                    () -> Total.empty(LimitIds.grant(g.id()), Total.GRANT, g.feature().orElse(null), life, customer.timezone(), Measure.USD.name()));
        }

        void put(Total t) {
            changed.put(new Key(t.limitId(), t.period().start()), t);
        }

        /**
         * The limit in force applied to its total, {@code amount} added. A limit changed since the total was written re-arms first
         * the thresholds it no longer reaches; usage taken back (a void, a replacement, an adjustment) re-arms none, so that each
         * threshold is notified once a period (a void below 100 %, then usage past it again, notified 100 % twice).
         */
        void count(Limit limit, Total t, BigDecimal amount) {
            List<BigDecimal> still = limit.amount().compareTo(t.limit()) == 0 ? t.crossed()
                    : Thresholds.stillCrossed(t.used(), limit.amount(), t.crossed());
            BigDecimal used = t.used().add(amount);
            List<BigDecimal> newly = Thresholds.newlyCrossed(used, limit.amount(), limit.thresholds(), still);
            List<BigDecimal> crossed = still;
            if (!newly.isEmpty()) {
                crossed = new ArrayList<>(still);
                crossed.addAll(newly);
                crossed.sort(Comparator.naturalOrder());
            }
            Total after = t.with(used, limit.amount(), t.events(), t.updatedAt(), crossed);
            put(after);
            newly.forEach(threshold -> crossings.add(new Crossing(limit, after, threshold)));
        }

        Result result(Optional<Accounting.Split> split) {
            return new Result(List.copyOf(changed.values()), List.copyOf(crossings), split);
        }
    }

    /**
     * What one limit, feature or grant counted in one period: the used amount against the limit, the
     * cost and its accounting split, quantities per meter and model, events, and thresholds crossed.
     */
    public record Total(String limitId, String kind, String feature, String measure, Period period, ZoneId zone, BigDecimal limit,
                        BigDecimal used, BigDecimal cost, BigDecimal included, BigDecimal grantCovered, BigDecimal billed, long events,
                        Instant updatedAt, List<BigDecimal> crossed, List<Quantity> quantities) {
        public static final String FEATURE = "feature";
        public static final String GRANT = "grant";

        /** Units of a meter on a model (null: no model). */
        public record Quantity(String meter, String model, BigDecimal amount) {}

        public Total {
            crossed = List.copyOf(crossed);
            quantities = List.copyOf(quantities);
        }

        public static Total empty(String limitId, String kind, String feature, Period period, ZoneId zone, String measure) {
            return new Total(limitId, kind, feature, measure, period, zone, BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO, BigDecimal.ZERO,
                    BigDecimal.ZERO, BigDecimal.ZERO, 0, Instant.EPOCH, List.of(), List.of());
        }

        Total with(BigDecimal newUsed, BigDecimal newLimit, long newEvents, Instant newUpdatedAt, List<BigDecimal> newCrossed) {
            return new Total(limitId, kind, feature, measure, period, zone, newLimit, newUsed, cost, included, grantCovered, billed, newEvents,
                    newUpdatedAt, newCrossed, quantities);
        }

        /** One more event of this cost. */
        Total withCost(BigDecimal eventCost, Instant at) {
            return withCost(eventCost, at, 1);
        }

        /** An event of this cost, counted {@code count} times (-1: taken back). */
        Total withCost(BigDecimal eventCost, Instant at, long count) {
            return new Total(limitId, kind, feature, measure, period, zone, limit, used, cost.add(eventCost), included, grantCovered, billed,
                    events + count, later(updatedAt, at), crossed, quantities);
        }

        /** A feature's totals with one more event: its cost (which is also what it used), split and quantities. */
        Total booked(BigDecimal eventCost, Accounting.Split split, String model, Map<String, BigDecimal> usage, Instant at) {
            return booked(eventCost, split, model, usage, at, 1);
        }

        /** The same, counted {@code count} times as an event (-1: an event taken back, its amounts negative). */
        Total booked(BigDecimal eventCost, Accounting.Split split, String model, Map<String, BigDecimal> usage, Instant at, long count) {
            List<Quantity> merged = new ArrayList<>(quantities);
            usage.forEach((meter, q) -> {
                for (int i = 0; i < merged.size(); i++) {
                    Quantity m = merged.get(i);
                    if (m.meter().equals(meter) && Objects.equals(m.model(), model)) {
                        merged.set(i, new Quantity(meter, model, m.amount().add(q)));
                        return;
                    }
                }
                merged.add(new Quantity(meter, model, q));
            });
            BigDecimal newCost = cost.add(eventCost);
            return new Total(limitId, kind, feature, measure, period, zone, limit, newCost, newCost, included.add(split.included()),
                    grantCovered.add(split.grantCovered()), billed.add(split.billed()), events + count, later(updatedAt, at), crossed, merged);
        }
    }
}

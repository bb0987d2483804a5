package io.capstream.aggregator.topology;

import io.capstream.policy.runaway.RunawayRule;
import io.capstream.policy.booking.Accounting;
import io.capstream.policy.booking.Booking;
import io.capstream.policy.booking.Booking.Total;
import io.capstream.policy.booking.Series;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.catalogue.Links;
import io.capstream.policy.limit.Period;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.schemas.BillingAdjustment;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.MetricsContribution;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.topics.UsageKey;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * A customer's books in the limits store. The rules are {@link Booking}'s; this class reads the
 * current totals from the store, writes what booking changed (whole or not at all), says what to emit,
 * and closes billing periods.
 */
final class Ledger {
    /** A record to emit: to which sink, under which key. */
    record Output(String sink, String key, SpecificRecord value) {}

    private final TotalsStore limits;
    /** Key customer|billing period start: the periods whose final totals were written (value: when), while still kept. */
    private final KeyValueStore<String, Long> finals;
    private final KeyValueStore<String, CustomerRecord> customers;
    private final Supplier<PolicyDocument> policy;
    private final EventTimeWindow window;
    /** Null when the deployment keeps no usage series. */
    private final SeriesBook series;
    private final RunawayWatch runaway;
    /**
     * Parsed configurations of this task's customers, so an event costs no decode: the ledger sees every
     * change of the customers store ({@link #reconfigure}), and lives only as long as its processor (a
     * task that starts again, or moves, starts with an empty one).
     */
    private final Map<String, Account> accounts = Lru.of(MAX_ACCOUNTS);
    private static final int MAX_ACCOUNTS = 50_000;
    /** The billing periods (customer|start) of this task known to keep {@link Booking#MAX_FEATURE_TOTALS} feature totals. */
    private final FullPeriods fullPeriods;

    Ledger(TotalsStore limits, KeyValueStore<String, Long> finals, KeyValueStore<String, CustomerRecord> customers,
           Supplier<PolicyDocument> policy, EventTimeWindow window, SeriesBook series, RunawayWatch runaway) {
        this.limits = limits;
        this.finals = finals;
        this.runaway = runaway;
        this.series = series;
        this.customers = customers;
        this.policy = policy;
        this.window = window;
        this.fullPeriods = new FullPeriods(limits);
    }

    /** A customer (configured or not) resolved under one version of the policy ({@link io.capstream.policy.decision.Account}). */
    private record Account(io.capstream.policy.decision.Account resolved, boolean configured, Optional<RunawayRule> runaway) {
        /** The plan's name in the decision metrics. */
        String plan() {
            return resolved.plan().map(io.capstream.policy.catalogue.Plan::name).orElse(DecisionMetrics.NO_PLAN);
        }

        static Account of(Customer customer, boolean configured, PolicyDocument policy) {
            io.capstream.policy.decision.Account resolved = io.capstream.policy.decision.Account.of(customer, policy);
            return new Account(resolved, configured, customer.runawayRule(resolved.plan()));
        }

        Customer customer() {
            return resolved.customer();
        }

        PolicyDocument policy() {
            return resolved.policy();
        }

        List<Limit> limits() {
            return resolved.limits();
        }
    }

    private Account account(String id, PolicyDocument doc) {
        Account a = accounts.get(id);
        if (a != null && a.policy() == doc) {
            return a;
        }
        if (a == null) {
            CustomerRecord record = customers.get(id);
            a = record == null ? unconfigured(id, doc) : Account.of(CustomerMapping.fromRecord(record), true, doc);
        } else { // a new version of the policy: the default plan or a plan's limits may have changed
            a = a.configured() ? Account.of(a.customer(), true, doc) : unconfigured(id, doc);
        }
        accounts.put(id, a);
        return a;
    }

    private static Account unconfigured(String id, PolicyDocument doc) {
        return Account.of(Customer.unconfigured(id, doc.defaultPlan().orElse(null)), false, doc);
    }

    /**
     * Books one unique, priced event, whole or not at all: every changed total is computed and checked
     * to fit its wire type first, and only then are they written. An event that cannot be booked throws
     * {@link RejectedEventException} with nothing written (and, as the dedup store records an id only
     * after this returns, its id is not used up).
     */
    List<Output> account(PricedEvent priced, long streamTime, long timestamp) {
        UsageEvent event = priced.event();
        PolicyDocument doc = policy.get();
        Account account = account(event.getCustomer(), doc);
        Customer customer = account.customer();
        Instant t = event.getTime();
        Instant now = Instant.ofEpochMilli(streamTime);
        Period billing = openBilling(customer, t, now);
        // a period already final (the billing grace is shorter than the late window) keeps its final totals: the event is booked
        // against its totals, so that its split is exact, and reported as an adjustment instead of changing what finance has
        List<Output> finalized = window.finalAt(billing.end()).isAfter(now) ? null : finalize(customer.id(), billing.start(), now);
        Map<String, BigDecimal> usage = usage(event);
        // an adjustment (an event with a reason and negative quantities) takes usage back as a void does, counted as an event of its own
        boolean takesBack = usage.values().stream().anyMatch(q -> q.signum() < 0);
        Booking.Totals totals = totals(customer.id());
        String feature = fullPeriods.totalFeature(account.resolved(), event.getFeature(), billing, totals, true);
        try {
            Booking.Result result = takesBack
                    ? Booking.reverse(priced(event, negated(usage), priced.cost().negate(), feature), customer, account.limits(), totals, 1)
                    : Booking.book(priced(event, usage, priced.cost(), feature), customer, account.limits(), totals);
            SeriesBook.Change buckets = buckets(null, customer, event, usage, result, 1);
            String plan = account.plan();
            List<Output> crossings = write(customer.id(), plan, result, doc.links(), t, timestamp);
            if (buckets != null) {
                buckets.write();
            }
            if (finalized != null) { // no notifications for a period already over
                finalized.add(adjustment(takesBack ? ADJUSTMENT : LATE_EVENT, event, event, billing, customer.timezone(), usage,
                        result.split().orElseThrow(), 1, timestamp));
                markFinal(customer.id(), billing.start(), now);
                return finalized;
            }
            if (account.runaway().isPresent() && !takesBack) {
                List<Output> tripped = runaway.observe(customer.id(), plan, feature, customer.timezone(), account.runaway().get(), event.getApiKey(), t,
                        result.split().orElseThrow().cost(), Instant.ofEpochMilli(timestamp));
                if (!tripped.isEmpty()) {
                    crossings = new ArrayList<>(crossings);
                    crossings.addAll(tripped);
                }
            }
            // active customers of the feature, and of all features (the caps on all spend count under *)
            for (String f : new String[] {feature, DecisionMetrics.ALL_FEATURES}) {
                Output active = active(customer.id(), plan, f, t);
                if (active != null) {
                    crossings = new ArrayList<>(crossings);
                    crossings.add(active);
                }
            }
            return crossings;
        } catch (ArithmeticException e) {
            throw new RejectedEventException("usage", "the event cannot be booked exactly (" + e.getMessage() + "); nothing was booked");
        }
    }

    /**
     * Applies an amendment to an event booked before, whole or not at all: the version in force ({@code booked}, at the cost
     * it was booked at) is taken back ({@link Booking#reverse}) and, for a replacement, {@code replacement} booked against
     * the totals as they are without it; both change the totals in one write. Thresholds crossed before stay crossed (no
     * notification downward); a cap back below its limit stops refusing once the sidecars see the total. A period already
     * final keeps its final total: what the amendment changes in it is written to billing-adjustments.
     *
     * @param replacement the new version, priced; null for a void
     * @param amendment   the amendment record (its kind, reason, source and id)
     */
    List<Output> amend(PricedEvent booked, PricedEvent replacement, UsageEvent amendment, long streamTime, long timestamp) {
        UsageEvent old = booked.event();
        PolicyDocument doc = policy.get();
        Account account = account(old.getCustomer(), doc);
        Customer customer = account.customer();
        Instant now = Instant.ofEpochMilli(streamTime);
        Period oldBilling = openBilling(customer, old.getTime(), now);
        Period newBilling = replacement == null ? null : openBilling(customer, replacement.event().getTime(), now);
        List<Output> out = new ArrayList<>();
        boolean oldFinal = !window.finalAt(oldBilling.end()).isAfter(now);
        boolean newFinal = newBilling != null && !window.finalAt(newBilling.end()).isAfter(now);
        if (oldFinal) {
            out.addAll(finalize(customer.id(), oldBilling.start(), now));
        }
        if (newFinal && !(oldFinal && newBilling.equals(oldBilling))) {
            out.addAll(finalize(customer.id(), newBilling.start(), now));
        }
        Map<String, BigDecimal> oldUsage = usage(old);
        try {
            Booking.Totals current = totals(customer.id());
            String oldFeature = fullPeriods.totalFeature(account.resolved(), old.getFeature(), oldBilling, current, false);
            Booking.Result back = Booking.reverse(priced(old, oldUsage, booked.cost(), oldFeature), customer, account.limits(), current, -1);
            Map<String, Total> without = new LinkedHashMap<>();
            back.changed().forEach(t -> without.put(t.limitId() + '|' + t.period().start(), t));
            Booking.Result forth = null;
            Map<String, BigDecimal> newUsage = null;
            if (replacement != null) {
                newUsage = usage(replacement.event());
                Booking.Totals withoutOld = (id, start) -> {
                    Total t = without.get(id + '|' + start);
                    return t != null ? Optional.of(t) : current.get(id, start);
                };
                String newFeature = fullPeriods.totalFeature(account.resolved(), replacement.event().getFeature(), newBilling, withoutOld, true);
                forth = Booking.book(priced(replacement.event(), newUsage, replacement.cost(), newFeature), customer, account.limits(), withoutOld);
            }
            // one change of the series: the new version adds to what taking the old one back leaves in a bucket they share
            SeriesBook.Change buckets = buckets(null, customer, old, negated(oldUsage), back, -1);
            if (forth != null) {
                buckets(buckets, customer, replacement.event(), newUsage, forth, 1);
            }
            Map<String, Total> changed = new LinkedHashMap<>(without);
            if (forth != null) {
                forth.changed().forEach(t -> changed.put(t.limitId() + '|' + t.period().start(), t));
            }
            List<Booking.Crossing> crossings = forth == null || newFinal ? List.of() : forth.crossings();
            out.addAll(write(customer.id(), account.plan(), new Booking.Result(List.copyOf(changed.values()), crossings, Optional.empty()),
                    doc.links(), Instant.ofEpochMilli(timestamp), timestamp));
            if (buckets != null) {
                buckets.write();
            }
            boolean isVoid = replacement == null;
            if (oldFinal) {
                out.add(adjustment(isVoid ? VOIDED : REPLACED, old, amendment, oldBilling, customer.timezone(), negated(oldUsage),
                        back.split().orElseThrow(), -1, timestamp));
            }
            if (newFinal) {
                out.add(adjustment(REPLACEMENT, replacement.event(), amendment, newBilling, customer.timezone(), newUsage,
                        forth.split().orElseThrow(), 1, timestamp));
                markFinal(customer.id(), newBilling.start(), now);
            }
            if (oldFinal) {
                markFinal(customer.id(), oldBilling.start(), now);
            }
            return out;
        } catch (ArithmeticException e) {
            throw new RejectedEventException("usage", "the amendment cannot be booked exactly (" + e.getMessage() + "); nothing was changed");
        }
    }

    /** The customer's billing period of {@code t}, refused when its totals are already gone (its end + the late window). */
    private Period openBilling(Customer customer, Instant t, Instant now) {
        Period billing = new ResetSchedule.Monthly(customer.billingAnchorDay()).periodAt(t, customer.timezone());
        if (!window.keptUntil(billing.end()).isAfter(now)) {
            throw new RejectedEventException("time", "the billing period " + billing.start() + " .. " + billing.end() + " is already closed");
        }
        return billing;
    }

    private static Map<String, BigDecimal> usage(UsageEvent event) {
        Map<String, BigDecimal> usage = new LinkedHashMap<>();
        for (Quantity q : event.getUsage()) {
            usage.merge(q.getMeter(), q.getQuantity(), BigDecimal::add);
        }
        return usage;
    }

    private static Map<String, BigDecimal> negated(Map<String, BigDecimal> usage) {
        Map<String, BigDecimal> out = new LinkedHashMap<>();
        usage.forEach((meter, q) -> out.put(meter, q.negate()));
        return out;
    }

    private static Booking.PricedUsage priced(UsageEvent event, Map<String, BigDecimal> usage, BigDecimal cost, String totalFeature) {
        return new Booking.PricedUsage(event.getFeature(), event.getModel(), event.getUser(), event.getApiKey(), event.getTime(), usage, cost,
                totalFeature);
    }

    /**
     * The usage series' change of a booking (its usage signed as booked; {@code events} 1 for an event or an adjustment, -1 for
     * an event taken back), added to {@code into} (null: a change of its own); null where no series are kept.
     */
    private SeriesBook.Change buckets(SeriesBook.Change into, Customer customer, UsageEvent event, Map<String, BigDecimal> usage,
                                      Booking.Result result, long events) {
        if (series == null) {
            return null;
        }
        Series.Combination combination = Series.Combination.of(event.getFeature(), event.getModel(), event.getApiKey(), event.getUser());
        Accounting.Split split = result.split().orElseThrow();
        return into == null ? series.prepare(customer.id(), combination, event.getTime(), customer.timezone(), usage, split, events)
                : series.prepare(into, customer.id(), combination, event.getTime(), customer.timezone(), usage, split, events);
    }

    /** Closes the runaway circuit breakers whose cool-down has passed ({@link RunawayWatch}). */
    List<Output> closeRunaway(Instant now) {
        return runaway.closeExpired(now);
    }

    /** Rolls the usage series' ended days up from their hours (see {@link SeriesBook}); nothing where no series are kept. */
    void rollUpSeries(Instant now) {
        if (series != null) {
            series.rollUp(now);
        }
    }

    /**
     * Applies a customer's new configuration to the current periods of its limits: a raised limit
     * re-arms the thresholds no longer reached, a lowered one emits its crossings at once.
     */
    List<Output> reconfigure(LedgerInput.CustomerChanged change, long timestamp) {
        accounts.remove(change.customer());
        if (change.record() == null) {
            return List.of();
        }
        PolicyDocument doc = policy.get();
        Customer customer = CustomerMapping.fromRecord(change.record());
        accounts.put(change.customer(), Account.of(customer, true, doc));
        Instant at = change.at();
        Booking.Result result = Booking.reconfigure(customer, doc, totals(customer.id()), () -> featureTotals(customer.id()), at);
        List<Output> out = write(customer.id(), accounts.get(change.customer()).plan(), result, doc.links(), at, timestamp);
        Instant resetAt = change.record().getRunawayResetAt();
        if (resetAt != null) {
            List<Output> closed = runaway.reset(customer.id(), resetAt);
            if (!closed.isEmpty()) {
                out = new ArrayList<>(out);
                out.addAll(closed);
            }
        }
        return out;
    }

    private Booking.Totals totals(String customer) {
        return (id, periodStart) -> limits.total(UsageKey.of(customer, id, periodStart));
    }

    private List<Total> featureTotals(String customer) {
        List<Total> features = new ArrayList<>();
        limits.writeChanged();
        try (KeyValueIterator<String, LimitUsage> it = limits.prefixScan(UsageKey.customerPrefix(customer), new StringSerializer())) {
            it.forEachRemaining(kv -> {
                if (Total.FEATURE.equals(kv.value.getKind())) {
                    features.add(LimitRecords.toTotal(kv.value));
                }
            });
        }
        return features;
    }

    /**
     * Checks every changed total against its wire type, then changes them all in the store (which emits
     * them at the next commit) and says which crossings to emit now.
     */
    private List<Output> write(String customer, String plan, Booking.Result result, Links links, Instant at, long timestamp) {
        for (Total t : result.changed()) {
            String misfit = LimitRecords.misfit(t);
            if (misfit != null) {
                throw new RejectedEventException("usage", "booking it would take " + misfit + " of customer " + customer
                        + " past the largest amount kept (" + io.capstream.policy.input.Decimals.MAX_TOTAL.toPlainString() + "); nothing was booked");
            }
        }
        for (Total t : result.changed()) {
            limits.put(customer, UsageKey.of(customer, t.limitId(), t.period().start()), t, timestamp);
            closeDue = min(closeDue, window.finalAt(t.period().end())); // early is safe: the scan then knows better
        }
        List<Output> out = new ArrayList<>(result.crossings().size());
        for (Booking.Crossing c : result.crossings()) {
            out.add(crossing(customer, c, links, at));
            if (c.threshold().compareTo(DecisionMetrics.EIGHTY) >= 0) { // the limit's hit rates in the decision metrics
                String feature = c.limit().feature() == null ? DecisionMetrics.ALL_FEATURES : c.limit().feature();
                out.add(new Output(UsageTopology.METRICS_INPUT_SINK, DecisionMetrics.key(plan, feature), MetricsContribution.newBuilder()
                        .setPlan(plan).setFeature(feature).setCustomer(customer).setAt(at).setKind(DecisionMetrics.LIMIT)
                        .setLimitId(c.limit().limitId()).setThreshold(c.threshold().toPlainString()).build()));
            }
        }
        return out;
    }

    /**
     * The customer's first booked usage of a feature in a UTC day (as far as this task remembers: a repeat after a
     * restart is counted once all the same), for the decision metrics' active customers; otherwise null.
     */
    private Output active(String customer, String plan, String feature, Instant t) {
        long day = Math.floorDiv(t.getEpochSecond(), 86_400);
        ActiveDay seen = activeDays.get(customer);
        if (seen == null || seen.day != day) {
            seen = new ActiveDay(day);
            activeDays.put(customer, seen);
        }
        if (!seen.features.add(feature)) {
            return null;
        }
        return new Output(UsageTopology.METRICS_INPUT_SINK, DecisionMetrics.key(plan, feature), MetricsContribution.newBuilder()
                .setPlan(plan).setFeature(feature).setCustomer(customer).setAt(t).setKind(DecisionMetrics.USAGE).build());
    }

    /** A customer's last UTC day (epoch day) of usage sent to the decision metrics, and the features sent for it. */
    private static final class ActiveDay {
        final long day;
        final java.util.Set<String> features = new java.util.HashSet<>(4);

        ActiveDay(long day) {
            this.day = day;
        }
    }

    private final Map<String, ActiveDay> activeDays = Lru.of(MAX_ACCOUNTS);

    /**
     * When {@link #closePeriods} next has something to do: the earliest moment a total of this task becomes final or is to be
     * forgotten, as far as the last scan and the totals written since tell (earlier is always safe). A new ledger (a task
     * started, restored or moved here) does not know it, so its first call scans.
     */
    private Instant closeDue = Instant.MIN;

    private static Instant min(Instant a, Instant b) {
        return a.isBefore(b) ? a : b;
    }

    /**
     * Writes the final totals of every billing period that became final by {@code streamTime} ({@link EventTimeWindow#finalAt}),
     * once, and forgets the totals of every period no accepted event can belong to any more ({@link EventTimeWindow#keptUntil}).
     * It reads every total of the task, so only when one of them is due ({@link #closeDue}): a task of a million totals
     * reads them when a period ends, not at every call.
     */
    List<Output> closePeriods(long streamTime) {
        Instant now = Instant.ofEpochMilli(streamTime);
        if (now.isBefore(closeDue)) {
            return List.of();
        }
        Instant next = Instant.MAX;
        List<Output> out = new ArrayList<>();
        List<String> forgotten = new ArrayList<>();
        java.util.Set<String> finalized = new java.util.HashSet<>();
        java.util.Set<String> released = new java.util.HashSet<>();
        limits.writeChanged();
        try (KeyValueIterator<String, LimitUsage> all = limits.all()) {
            while (all.hasNext()) {
                KeyValue<String, LimitUsage> entry = all.next();
                LimitUsage r = entry.value;
                if (window.finalAt(r.getPeriodEnd()).isAfter(now)) {
                    next = min(next, window.finalAt(r.getPeriodEnd()));
                    continue;
                }
                String period = finalKey(r.getCustomer(), r.getPeriodStart());
                if (Total.FEATURE.equals(r.getKind()) && (finalized.contains(period) || finals.get(period) == null)) {
                    out.add(periodTotal(r, now));
                    finalized.add(period);
                }
                if (!window.keptUntil(r.getPeriodEnd()).isAfter(now)) {
                    forgotten.add(entry.key);
                    if (Total.FEATURE.equals(r.getKind())) {
                        released.add(period);
                    }
                } else {
                    next = min(next, window.keptUntil(r.getPeriodEnd()));
                }
            }
        }
        forgotten.forEach(key -> limits.delete(key, streamTime));
        for (String period : finalized) {
            if (!released.contains(period)) {
                finals.put(period, streamTime);
            }
        }
        released.forEach(finals::delete);
        closeDue = next;
        return out;
    }

    /**
     * The final totals of a customer's billing period, to be written now if they were not yet (an event for a period that
     * became final since the last {@link #closePeriods}): so that they never include what is reported as an adjustment.
     * Remembered as written ({@link #markFinal}) only once the booking that needs them succeeded: an event refused instead
     * leaves them to {@link #closePeriods}.
     */
    private List<Output> finalize(String customer, Instant periodStart, Instant now) {
        List<Output> out = new ArrayList<>();
        String period = finalKey(customer, periodStart);
        if (finals.get(period) != null) {
            return out;
        }
        limits.writeChanged();
        try (KeyValueIterator<String, LimitUsage> it = limits.prefixScan(UsageKey.customerPrefix(customer), new StringSerializer())) {
            it.forEachRemaining(kv -> {
                if (Total.FEATURE.equals(kv.value.getKind()) && kv.value.getPeriodStart().equals(periodStart)) {
                    out.add(periodTotal(kv.value, now));
                }
            });
        }
        return out;
    }

    private void markFinal(String customer, Instant periodStart, Instant now) {
        String period = finalKey(customer, periodStart);
        if (finals.get(period) == null) {
            finals.put(period, now.toEpochMilli());
        }
    }

    private static String finalKey(String customer, Instant periodStart) {
        return customer + '|' + periodStart;
    }

    private static Output periodTotal(LimitUsage r, Instant closedAt) {
        return new Output(UsageTopology.TOTALS_SINK, r.getCustomer() + '|' + r.getFeature() + '|' + r.getPeriodStart(), PeriodTotal.newBuilder()
                .setCustomer(r.getCustomer()).setFeature(r.getFeature())
                .setPeriodStart(r.getPeriodStart()).setPeriodEnd(r.getPeriodEnd()).setTimezone(r.getTimezone())
                .setQuantities(r.getQuantities()).setCost(r.getCost()).setIncluded(r.getIncluded())
                .setGrantCovered(r.getGrantCovered()).setBilled(r.getBilled()).setEvents(r.getEvents())
                .setClosedAt(closedAt)
                .build());
    }

    /**
     * A change to a billing period already final, as finance books it: what it adds to the period (negative when usage is
     * taken back), and its split.
     *
     * @param event  the version of the event whose usage it is
     * @param cause  the record that caused it (the event itself, or the amendment): its source, id and reason
     * @param usage  the usage per meter, signed as booked
     * @param events how the period's event count changes
     */
    private static Output adjustment(String kind, UsageEvent event, UsageEvent cause, Period billing, java.time.ZoneId zone,
                                     Map<String, BigDecimal> usage, io.capstream.policy.booking.Accounting.Split split, long events, long receivedAt) {
        List<Quantity> quantities = new ArrayList<>(usage.size());
        usage.forEach((meter, q) -> quantities.add(new Quantity(meter, event.getModel(), io.capstream.policy.input.Decimals.quantity(q))));
        String customer = event.getCustomer();
        String why = switch (kind) {
            case LATE_EVENT -> "usage of " + event.getTime() + " received after the billing period was final";
            case ADJUSTMENT -> "an adjustment received after the billing period was final";
            case VOIDED -> "the event was voided after the billing period was final";
            case REPLACED -> "the event was replaced after the billing period was final: its earlier version taken back";
            default -> "the event was replaced after the billing period was final: its new version";
        };
        return new Output(UsageTopology.ADJUSTMENTS_SINK, customer + '|' + event.getFeature() + '|' + billing.start(), BillingAdjustment.newBuilder()
                .setId(customer + '|' + cause.getSource() + '|' + cause.getId() + '|' + kind + '|' + receivedAt)
                .setCustomer(customer).setFeature(event.getFeature())
                .setPeriodStart(billing.start()).setPeriodEnd(billing.end()).setTimezone(zone.getId())
                .setKind(kind)
                .setReason(why + " (" + billing.start() + " .. " + billing.end() + "); its final total is unchanged"
                        + (cause.getReason() == null ? "" : ": " + cause.getReason()))
                .setSource(cause.getSource()).setEventId(cause.getId()).setEventTime(event.getTime())
                .setQuantities(quantities)
                .setCost(io.capstream.policy.input.Decimals.money(split.cost()))
                .setIncluded(io.capstream.policy.input.Decimals.money(split.included()))
                .setGrantCovered(io.capstream.policy.input.Decimals.money(split.grantCovered()))
                .setBilled(io.capstream.policy.input.Decimals.money(split.billed()))
                .setEvents(events)
                .setCreatedAt(Instant.ofEpochMilli(receivedAt))
                .build());
    }

    static final String LATE_EVENT = "late_event";
    static final String ADJUSTMENT = "adjustment";
    static final String VOIDED = "void";
    static final String REPLACED = "replaced";
    static final String REPLACEMENT = "replacement";

    private static Output crossing(String customer, Booking.Crossing c, Links links, Instant at) {
        Limit limit = c.limit();
        Total t = c.total();
        // the limit in the id: after a raised limit re-armed a threshold, crossing it again is a new notification, which a receiver
        // that drops ids it has seen (webhook-id, Message-ID) would otherwise drop as a repeat of the first
        String id = UsageKey.of(customer, limit.limitId(), t.period().start()) + '|' + c.threshold().toPlainString() + '|'
                + t.limit().stripTrailingZeros().toPlainString();
        return new Output(UsageTopology.THRESHOLDS_SINK, id, ThresholdCrossed.newBuilder()
                .setId(id)
                .setCustomer(customer).setLimitId(limit.limitId()).setLabel(limit.displayLabel()).setKind(limit.kind())
                .setThreshold(c.threshold().toPlainString())
                .setUsed(io.capstream.policy.input.Decimals.money(t.used())).setLimit(io.capstream.policy.input.Decimals.money(t.limit()))
                .setMeasure(t.measure())
                .setPeriodStart(t.period().start()).setResetsAt(t.period().end().atZone(t.zone()).toOffsetDateTime().toString())
                .setTimezone(t.zone().getId()).setAction(limit.action().name().toLowerCase(Locale.ROOT))
                .setRaiseCapUrl(limit.wayOut() == Limit.WayOut.RAISE_CAP ? links.raiseCapFor(customer, limit.limitId()).orElse(null) : null)
                .setUpgradeUrl(links.upgradeFor(customer, limit.limitId()).orElse(null))
                .setTopUpUrl(links.topUpFor(customer, limit.limitId()).orElse(null))
                .setCrossedAt(at)
                .build());
    }
}

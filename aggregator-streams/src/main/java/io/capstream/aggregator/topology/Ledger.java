package io.capstream.aggregator.topology;

import io.capstream.policy.Accounting;
import io.capstream.policy.Cap;
import io.capstream.policy.Customer;
import io.capstream.policy.Decimals;
import io.capstream.policy.Entitlement;
import io.capstream.policy.EventTimeWindow;
import io.capstream.policy.Grant;
import io.capstream.policy.Links;
import io.capstream.policy.Period;
import io.capstream.policy.Plan;
import io.capstream.policy.PolicyDocument;
import io.capstream.policy.ResetSchedule;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.mapping.CustomerMapping;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Supplier;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * A customer's books in the limits store: feature totals per billing period with the accounting
 * split, what each entitlement and cap counted per period, and what each grant has paid. The rules
 * are the policy module's; this class only reads and writes the store and says what to emit.
 */
final class Ledger {
    /** A record to emit: to which sink, under which key. */
    record Output(String sink, String key, SpecificRecord value) {}

    private final KeyValueStore<String, LimitUsage> limits;
    private final KeyValueStore<String, CustomerRecord> customers;
    private final Supplier<PolicyDocument> policy;
    private final Duration closeAfter;

    Ledger(KeyValueStore<String, LimitUsage> limits, KeyValueStore<String, CustomerRecord> customers,
           Supplier<PolicyDocument> policy, EventTimeWindow window) {
        this.limits = limits;
        this.customers = customers;
        this.policy = policy;
        // a period is final when stream time passes its end plus the late window (and the allowed clock skew)
        this.closeAfter = window.lateWindow().plus(EventTimeWindow.MAX_FUTURE_SKEW);
    }

    Customer customer(String id, PolicyDocument doc) {
        CustomerRecord record = customers.get(id);
        return record == null ? Customer.unconfigured(id, doc.defaultPlan().orElse(null)) : CustomerMapping.fromRecord(record);
    }

    /**
     * Books one unique, priced event, whole or not at all: every changed total is computed and checked
     * to fit its wire type first, and only then are they written. An event that cannot be booked throws
     * {@link RejectedEventException} with nothing written (and, as the dedup store records an id only
     * after this returns, its id is not used up).
     */
    List<Output> account(PricedEvent priced, long streamTime) {
        Staged staged = new Staged();
        List<Output> out;
        try {
            out = book(priced, streamTime, staged);
        } catch (ArithmeticException e) {
            throw new RejectedEventException("usage", "the event cannot be booked exactly (" + e.getMessage() + "); nothing was booked");
        }
        staged.write();
        return out;
    }

    private List<Output> book(PricedEvent priced, long streamTime, Staged staged) {
        UsageEvent event = priced.event();
        PolicyDocument doc = policy.get();
        Customer customer = customer(event.getCustomer(), doc);
        Optional<Plan> plan = doc.plan(customer.plan());
        Instant t = event.getTime();
        ZoneId zone = customer.timezone();
        Map<String, BigDecimal> usage = usage(event);
        BigDecimal cost = priced.cost();
        List<Output> out = new ArrayList<>();

        Period billing = new ResetSchedule.Monthly(customer.billingAnchorDay()).periodAt(t, zone);
        if (!billing.end().plus(closeAfter).isAfter(Instant.ofEpochMilli(streamTime))) {
            throw new RejectedEventException("time", "the billing period " + billing.start() + " .. " + billing.end() + " is already closed");
        }

        // 1–3. included part, from the feature's entitlement
        Optional<Entitlement> entitlement = plan.flatMap(p -> p.entitlement(event.getFeature()));
        BigDecimal included = BigDecimal.ZERO;
        if (entitlement.isPresent()) {
            Entitlement e = entitlement.get();
            Period period = e.period().resolve(customer.billingAnchorDay()).periodAt(t, zone);
            String key = UsageKeys.key(customer.id(), e.limitId(), period.start());
            LimitUsage r = staged.get(key, () -> LimitRecords.empty(customer.id(), e.limitId(), LimitRecords.ENTITLEMENT, e.feature(), period, zone, e.measure().name()));
            BigDecimal use = Accounting.entitlementUse(e, cost, usage);
            included = Accounting.includedPart(entitlement, cost, use, r.getUsed());
            addCost(r, cost, t);
            List<BigDecimal> crossed = LimitRecords.count(r, e.included(), e.warnAt(), use);
            staged.emit(out, key, r);
            crossed.forEach(threshold -> out.add(crossing(r, e.limitId(), e.feature(), LimitRecords.ENTITLEMENT, threshold,
                    e.over().name(), period, zone, doc.links(), t)));
        }

        // 4–5. grants, then billed
        Map<String, String> grantKeys = new LinkedHashMap<>();
        List<Accounting.GrantBalance> balances = new ArrayList<>();
        for (Grant g : customer.grants()) {
            String key = grantKey(customer.id(), g);
            grantKeys.put(g.id(), key);
            LimitUsage burned = limits.get(key);
            balances.add(new Accounting.GrantBalance(g, g.amount().subtract(burned == null ? BigDecimal.ZERO : burned.getUsed())));
        }
        Accounting.Split split = Accounting.split(cost, included, balances, t, event.getFeature());
        for (Map.Entry<String, BigDecimal> burn : split.grantBurns().entrySet()) {
            Grant g = customer.grants().stream().filter(x -> x.id().equals(burn.getKey())).findFirst().orElseThrow();
            String key = grantKeys.get(g.id());
            LimitUsage r = staged.get(key, () -> LimitRecords.empty(customer.id(), "grant:" + g.id(), LimitRecords.GRANT, g.feature().orElse(null),
                    new Period(g.effectiveAt(), g.expiresAt().orElse(Instant.parse("9999-12-31T00:00:00Z"))), zone, "USD"));
            r.setUsed(Decimals.money(r.getUsed().add(burn.getValue())));
            r.setLimit(Decimals.money(g.amount()));
            r.setEvents(r.getEvents() + 1);
            r.setUpdatedAt(t);
            staged.emit(out, key, r);
        }

        // the feature's totals in the billing period, for finance
        String featureKey = UsageKeys.key(customer.id(), UsageKeys.featureLimit(event.getFeature()), billing.start());
        LimitUsage totals = staged.get(featureKey, () -> LimitRecords.empty(customer.id(), UsageKeys.featureLimit(event.getFeature()),
                LimitRecords.FEATURE, event.getFeature(), billing, zone, "USD"));
        totals.setQuantities(addQuantities(totals.getQuantities(), event));
        addCost(totals, cost, t);
        totals.setUsed(totals.getCost());
        totals.setIncluded(Decimals.money(totals.getIncluded().add(split.included())));
        totals.setGrantCovered(Decimals.money(totals.getGrantCovered().add(split.grantCovered())));
        totals.setBilled(Decimals.money(totals.getBilled().add(split.billed())));
        staged.emit(out, featureKey, totals);

        // 6. every matching cap, in its own period and timezone
        for (Cap cap : customer.effectiveCaps(plan)) {
            if (!cap.filter().matches(event.getFeature(), event.getModel(), event.getUser(), event.getApiKey())) {
                continue;
            }
            ZoneId capZone = customer.zoneOf(cap);
            Period period = cap.period().resolve(customer.billingAnchorDay()).periodAt(t, capZone);
            String key = UsageKeys.key(customer.id(), cap.limitId(), period.start());
            LimitUsage r = staged.get(key, () -> LimitRecords.empty(customer.id(), cap.limitId(), LimitRecords.CAP, cap.filter().feature(),
                    period, capZone, cap.measure().name()));
            addCost(r, cost, t);
            List<BigDecimal> crossed = LimitRecords.count(r, cap.amount(), cap.thresholds(), Accounting.counted(cap, split, usage));
            staged.emit(out, key, r);
            crossed.forEach(threshold -> out.add(crossing(r, cap.limitId(), cap.displayLabel(), LimitRecords.CAP, threshold,
                    cap.action().name(), period, capZone, doc.links(), t)));
        }
        return out;
    }

    /**
     * Applies a customer's new configuration to the current periods of its caps and entitlements: a
     * raised limit re-arms the thresholds no longer reached, a lowered one emits its crossings at once.
     */
    List<Output> reconfigure(CustomerRecord record, Instant at) {
        PolicyDocument doc = policy.get();
        Customer customer = CustomerMapping.fromRecord(record);
        Optional<Plan> plan = doc.plan(customer.plan());
        List<Output> out = new ArrayList<>();
        for (Cap cap : customer.effectiveCaps(plan)) {
            ZoneId zone = customer.zoneOf(cap);
            Period period = cap.period().resolve(customer.billingAnchorDay()).periodAt(at, zone);
            String key = UsageKeys.key(customer.id(), cap.limitId(), period.start());
            LimitUsage r = limits.get(key);
            BigDecimal alreadyUsed = BigDecimal.ZERO;
            if (r == null) {
                Optional<BigDecimal> sofar = usageSoFar(customer, cap, period, zone);
                if (sofar.isEmpty()) {
                    continue;
                }
                r = LimitRecords.empty(customer.id(), cap.limitId(), LimitRecords.CAP, cap.filter().feature(), period, zone, cap.measure().name());
                alreadyUsed = sofar.get();
            }
            LimitUsage entry = r;
            List<BigDecimal> crossed = LimitRecords.count(r, cap.amount(), cap.thresholds(), alreadyUsed);
            emit(out, key, r);
            crossed.forEach(threshold -> out.add(crossing(entry, cap.limitId(), cap.displayLabel(), LimitRecords.CAP, threshold,
                    cap.action().name(), period, zone, doc.links(), at)));
        }
        for (Entitlement e : plan.map(p -> p.entitlements().values()).orElse(List.of())) {
            Period period = e.period().resolve(customer.billingAnchorDay()).periodAt(at, customer.timezone());
            String key = UsageKeys.key(customer.id(), e.limitId(), period.start());
            LimitUsage r = limits.get(key);
            if (r == null) {
                continue;
            }
            List<BigDecimal> crossed = LimitRecords.count(r, e.included(), e.warnAt(), BigDecimal.ZERO);
            emit(out, key, r);
            crossed.forEach(threshold -> out.add(crossing(r, e.limitId(), e.feature(), LimitRecords.ENTITLEMENT, threshold,
                    e.over().name(), period, customer.timezone(), doc.links(), at)));
        }
        return out;
    }

    /**
     * What a cap that is new in its current period has already used, when that can be known from the
     * feature totals: a USD cap on the billing period, in the customer's timezone, filtered by
     * feature at most. Other new caps (per user, key or model, or on another schedule) count from the
     * moment they are set.
     */
    private Optional<BigDecimal> usageSoFar(Customer customer, Cap cap, Period period, ZoneId zone) {
        Period billing = new ResetSchedule.Monthly(customer.billingAnchorDay()).periodAt(period.start(), customer.timezone());
        boolean derivable = cap.measure().isMoney() && billing.equals(period) && zone.equals(customer.timezone())
                && cap.filter().model() == null && cap.filter().user() == null && cap.filter().apiKey() == null;
        if (!derivable) {
            return Optional.empty();
        }
        BigDecimal used = BigDecimal.ZERO;
        try (KeyValueIterator<String, LimitUsage> it = limits.prefixScan(UsageKeys.customerPrefix(customer.id()),
                new org.apache.kafka.common.serialization.StringSerializer())) {
            while (it.hasNext()) {
                LimitUsage f = it.next().value;
                if (LimitRecords.FEATURE.equals(f.getKind()) && f.getPeriodStart().equals(period.start())
                        && (cap.filter().feature() == null || cap.filter().feature().equals(f.getFeature()))) {
                    Accounting.Split split = new Accounting.Split(f.getCost(), f.getIncluded(), f.getGrantCovered(), f.getBilled(), Map.of());
                    used = used.add(Accounting.counted(cap, split, Map.of()));
                }
            }
        }
        return Optional.of(used);
    }

    /** Writes the final totals of every billing period that closed by {@code streamTime}, and forgets closed limits. */
    List<Output> closePeriods(long streamTime) {
        Instant now = Instant.ofEpochMilli(streamTime);
        List<Output> out = new ArrayList<>();
        List<String> closed = new ArrayList<>();
        try (KeyValueIterator<String, LimitUsage> all = limits.all()) {
            while (all.hasNext()) {
                KeyValue<String, LimitUsage> entry = all.next();
                LimitUsage r = entry.value;
                if (r.getPeriodEnd().plus(closeAfter).isAfter(now)) {
                    continue;
                }
                if (LimitRecords.FEATURE.equals(r.getKind())) {
                    out.add(new Output(UsageTopology.TOTALS_SINK, r.getCustomer() + '|' + r.getFeature() + '|' + r.getPeriodStart(),
                            PeriodTotal.newBuilder()
                                    .setCustomer(r.getCustomer()).setFeature(r.getFeature())
                                    .setPeriodStart(r.getPeriodStart()).setPeriodEnd(r.getPeriodEnd()).setTimezone(r.getTimezone())
                                    .setQuantities(r.getQuantities()).setCost(r.getCost()).setIncluded(r.getIncluded())
                                    .setGrantCovered(r.getGrantCovered()).setBilled(r.getBilled()).setEvents(r.getEvents())
                                    .setClosedAt(now)
                                    .build()));
                }
                closed.add(entry.key);
            }
        }
        closed.forEach(limits::delete);
        return out;
    }

    /** The records one event changes, held until all are computed and checked. */
    private final class Staged {
        private final Map<String, LimitUsage> records = new LinkedHashMap<>();

        LimitUsage get(String key, Supplier<LimitUsage> empty) {
            LimitUsage r = records.containsKey(key) ? records.get(key) : limits.get(key);
            return r == null ? empty.get() : r;
        }

        void emit(List<Output> out, String key, LimitUsage r) {
            records.put(key, r);
            out.add(new Output(UsageTopology.AGGREGATES_SINK, key, r));
        }

        /** Checks every record against its wire type, then writes them all. */
        void write() {
            records.values().forEach(Ledger::checkFits);
            records.forEach((key, r) -> limits.put(key, r));
        }
    }

    /** A running total that would no longer fit {@code decimal(38, 18)} (or quantities {@code decimal(38, 9)}) refuses the event. */
    private static void checkFits(LimitUsage r) {
        for (BigDecimal amount : List.of(r.getUsed(), r.getCost(), r.getIncluded(), r.getGrantCovered(), r.getBilled())) {
            if (!Decimals.fitsTotal(amount)) {
                throw new RejectedEventException("usage", "booking it would take " + r.getLimitId() + " of customer " + r.getCustomer()
                        + " past the largest amount kept (" + Decimals.MAX_TOTAL.toPlainString() + "); nothing was booked");
            }
        }
        for (Quantity q : r.getQuantities()) {
            if (q.getQuantity().precision() - q.getQuantity().scale() > 38 - Decimals.QUANTITY_SCALE) {
                throw new RejectedEventException("usage." + q.getMeter(), "the period's total of " + q.getMeter()
                        + " would exceed the largest quantity kept; nothing was booked");
            }
        }
    }

    private void emit(List<Output> out, String key, LimitUsage r) {
        limits.put(key, r);
        out.add(new Output(UsageTopology.AGGREGATES_SINK, key, LimitUsage.newBuilder(r).build()));
    }

    private static void addCost(LimitUsage r, BigDecimal cost, Instant t) {
        r.setCost(Decimals.money(r.getCost().add(cost)));
        r.setEvents(r.getEvents() + 1);
        if (t.isAfter(r.getUpdatedAt())) {
            r.setUpdatedAt(t);
        }
    }

    static String grantKey(String customer, Grant g) {
        return UsageKeys.key(customer, "grant:" + g.id(), g.effectiveAt());
    }

    private static Output crossing(LimitUsage r, String limitId, String label, String kind, BigDecimal threshold,
                                             String action, Period period, ZoneId zone, Links links, Instant at) {
        String id = r.getCustomer() + '|' + limitId + '|' + period.start() + '|' + threshold.toPlainString();
        return new Output(UsageTopology.THRESHOLDS_SINK, id, ThresholdCrossed.newBuilder()
                .setId(id)
                .setCustomer(r.getCustomer()).setLimitId(limitId).setLabel(label).setKind(kind)
                .setThreshold(threshold.toPlainString()).setUsed(r.getUsed()).setLimit(r.getLimit()).setMeasure(r.getMeasure())
                .setPeriodStart(period.start()).setResetsAt(period.end().atZone(zone).toOffsetDateTime().toString())
                .setTimezone(zone.getId()).setAction(action.toLowerCase(Locale.ROOT))
                .setRaiseCapUrl(LimitRecords.CAP.equals(kind) ? links.raiseCapFor(r.getCustomer(), limitId).orElse(null) : null)
                .setUpgradeUrl(links.upgradeFor(r.getCustomer(), limitId).orElse(null))
                .setTopUpUrl(links.topUpFor(r.getCustomer(), limitId).orElse(null))
                .setCrossedAt(at)
                .build());
    }

    private static Map<String, BigDecimal> usage(UsageEvent event) {
        Map<String, BigDecimal> usage = new LinkedHashMap<>();
        for (Quantity q : event.getUsage()) {
            usage.merge(q.getMeter(), q.getQuantity(), BigDecimal::add);
        }
        return usage;
    }

    private static List<Quantity> addQuantities(List<Quantity> totals, UsageEvent event) {
        List<Quantity> result = new ArrayList<>(totals.size() + event.getUsage().size());
        for (Quantity q : totals) {
            result.add(Quantity.newBuilder(q).build());
        }
        for (Quantity q : event.getUsage()) {
            Quantity match = result.stream()
                    .filter(t -> t.getMeter().equals(q.getMeter()) && Objects.equals(t.getModel(), event.getModel()))
                    .findFirst().orElse(null);
            if (match == null) {
                result.add(new Quantity(q.getMeter(), event.getModel(), q.getQuantity()));
            } else {
                match.setQuantity(Decimals.quantity(match.getQuantity().add(q.getQuantity())));
            }
        }
        return result;
    }
}

package io.capstream.aggregator.topology;

import io.capstream.policy.booking.Series;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.Period;
import io.capstream.policy.runaway.Breaker;
import io.capstream.policy.runaway.MinuteWindow;
import io.capstream.policy.runaway.RunawayRule;
import io.capstream.schemas.MetricsContribution;
import io.capstream.schemas.RunawayBreaker;
import io.capstream.schemas.RunawayState;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageBucket;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.kstream.Windowed;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The runaway circuit breakers of a task's customers ({@link RunawayRule}): each booked event's cost
 * counts in its customer's and its API key's spend per minute; when that stays above the trip rate for
 * the rule's sustained minutes, a breaker opens for the scope. Open breakers live in the logged
 * {@code runaway-store} (key: customer) and go to {@code runaway-breakers} for the sidecars, which
 * refuse or slow requests while one is open; the trip is also a {@code threshold-events} record (kind
 * {@code runaway}) for the notifier. A breaker closes after its cool-down ({@link #closeExpired}) or
 * when the customer's breakers are reset ({@link #reset}).
 *
 * <p>The baseline of a scope comes from the usage series' hourly buckets of the same local hour on the
 * last 7 days (read once per scope and hour); without series ({@code series.enabled=false}) it is the
 * rule's floor. The spend per minute is kept in memory: after a restart or a partition move it starts
 * afresh, so a runaway that was under way is seen at most the sustained minutes later (keeping it in a
 * store would cost a changelog record per customer and commit, docs/performance.md).
 */
final class RunawayWatch {
    private static final int MAX_CUSTOMERS = 50_000;
    private static final int MAX_SCOPES_PER_CUSTOMER = 1_000;
    private static final String CUSTOMER_SCOPE = "";

    private final KeyValueStore<String, RunawayState> open;
    /** Null where no series are kept. */
    private final SeriesStore hourly;

    /** One scope's spend per minute, its baseline for the local hour (and rule) it was last computed for, and its open breaker's end. */
    private static final class Scope {
        MinuteWindow window;
        int size;
        Period hour;
        RunawayRule rule;
        BigDecimal baseline;
        BigDecimal trip;
        /** While a breaker of the scope is open: nothing to check, and no store read per event. */
        Instant openUntil = Instant.MIN;
    }

    /** customer → "" (the customer) or an API key → its scope. */
    private final Map<String, Map<String, Scope>> scopes = Lru.of(MAX_CUSTOMERS);

    /** A customer's spend in one local hour on each of the last days, in all and per API key: read once per customer and hour. */
    private record SameHour(Period hour, List<BigDecimal> customer, Map<String, List<BigDecimal>> byKey) {}

    private final Map<String, SameHour> sameHours = Lru.of(MAX_CUSTOMERS);

    RunawayWatch(KeyValueStore<String, RunawayState> open, SeriesStore hourly) {
        this.open = open;
        this.hourly = hourly;
    }

    /**
     * Counts a booked event's cost (event time {@code t}, received at {@code receivedAt}) for its customer and
     * key, and opens a breaker for each scope whose rate is now runaway; what to emit.
     */
    List<Ledger.Output> observe(String customer, String plan, String feature, ZoneId zone, RunawayRule rule, String apiKey, Instant t,
                                BigDecimal cost, Instant receivedAt) {
        if (cost.signum() <= 0) {
            return List.of();
        }
        long minute = Math.floorDiv(t.getEpochSecond(), 60);
        Map<String, Scope> ofCustomer = scopes.computeIfAbsent(customer, c -> Lru.of(MAX_SCOPES_PER_CUSTOMER));
        List<Ledger.Output> out = List.of();
        for (int i = 0; i < (apiKey == null ? 1 : 2); i++) {
            String scopeKey = i == 0 ? CUSTOMER_SCOPE : apiKey;
            Scope scope = ofCustomer.computeIfAbsent(scopeKey, k -> new Scope());
            if (scope.window == null || scope.size != rule.sustainMinutes() + 1) {
                scope.size = rule.sustainMinutes() + 1;
                scope.window = new MinuteWindow(scope.size);
            }
            scope.window.add(minute, cost);
            if (receivedAt.isBefore(scope.openUntil)) {
                continue;
            }
            if (scope.hour == null || !scope.hour.contains(t) || rule != scope.rule) { // the ledger keeps one rule object per configuration
                SameHour spends = sameHour(customer, t, zone);
                scope.hour = spends.hour();
                scope.rule = rule;
                scope.baseline = rule.baseline(i == 0 ? spends.customer() : spends.byKey().getOrDefault(apiKey, List.of()));
                scope.trip = rule.tripRate(scope.baseline);
            }
            if (scope.window.above(minute, rule.sustainMinutes(), scope.trip)) {
                String key = i == 0 ? null : apiKey;
                RunawayState state = open.get(customer);
                Optional<RunawayBreaker> stillOpen = state == null ? Optional.empty() : state.getBreakers().stream()
                        .filter(b -> Objects.equals(b.getApiKey(), key) && b.getClosesAt().isAfter(receivedAt)).findFirst();
                if (stillOpen.isPresent()) { // opened by an earlier life of this task
                    scope.openUntil = stillOpen.get().getClosesAt();
                    continue;
                }
                Breaker breaker = new Breaker(customer, Optional.ofNullable(key), rule.action(), scope.window.mean(minute, rule.sustainMinutes()),
                        scope.baseline, scope.trip, receivedAt, receivedAt.plus(rule.coolDown()), zone);
                scope.openUntil = breaker.closesAt();
                out = new ArrayList<>(out);
                out.addAll(opened(state, breaker));
                out.add(new Ledger.Output(UsageTopology.METRICS_INPUT_SINK, DecisionMetrics.key(plan, feature), MetricsContribution.newBuilder()
                        .setPlan(plan).setFeature(feature).setCustomer(customer).setAt(receivedAt).setKind(DecisionMetrics.TRIP).build()));
            }
        }
        return out;
    }

    /** The customer's spend, in all and per API key, in the same local hour as {@code t} on each of the last days (none without series). */
    private SameHour sameHour(String customer, Instant t, ZoneId zone) {
        SameHour cached = sameHours.get(customer);
        if (cached != null && cached.hour().contains(t)) {
            return cached;
        }
        Period hour = Series.Granularity.HOUR.bucketAt(t, zone);
        List<BigDecimal> all = new ArrayList<>(RunawayRule.BASELINE_DAYS);
        Map<String, List<BigDecimal>> byKey = new HashMap<>();
        if (hourly != null) {
            String prefix = customer + '|';
            for (int day = 1; day <= RunawayRule.BASELINE_DAYS; day++) {
                Instant start = Series.Granularity.HOUR.bucketAt(t.atZone(zone).minusDays(day).toInstant(), zone).start();
                if (day == 1) {
                    hourly.writeChangedFrom(start.toEpochMilli()); // a replay may not have written yesterday yet (live traffic has)
                }
                BigDecimal spend = BigDecimal.ZERO;
                try (KeyValueIterator<Windowed<String>, UsageBucket> it = hourly.fetch(prefix, customer + "|\uffff", start, start)) {
                    while (it.hasNext()) {
                        KeyValue<Windowed<String>, UsageBucket> kv = it.next();
                        String k = kv.key.key();
                        if (!k.startsWith(prefix)) {
                            continue;
                        }
                        spend = spend.add(kv.value.getCost());
                        String apiKey = Series.Combination.ofKey(k.substring(prefix.length())).apiKey();
                        if (!apiKey.isEmpty()) {
                            List<BigDecimal> days = byKey.computeIfAbsent(apiKey, x -> new ArrayList<>(java.util.Collections.nCopies(
                                    RunawayRule.BASELINE_DAYS, BigDecimal.ZERO)));
                            days.set(day - 1, days.get(day - 1).add(kv.value.getCost()));
                        }
                    }
                }
                all.add(spend);
            }
        }
        SameHour computed = new SameHour(hour, all, byKey);
        sameHours.put(customer, computed);
        return computed;
    }

    private List<Ledger.Output> opened(RunawayState before, Breaker b) {
        List<RunawayBreaker> breakers = new ArrayList<>();
        if (before != null) {
            before.getBreakers().stream().filter(x -> !Objects.equals(x.getApiKey(), b.apiKey().orElse(null))).forEach(breakers::add);
        }
        breakers.add(new RunawayBreaker(b.apiKey().orElse(null), b.action().name().toLowerCase(Locale.ROOT), Decimals.money(b.rate()),
                Decimals.money(b.baseline()), Decimals.money(b.tripRate()), b.openedAt(), b.closesAt()));
        RunawayState state = new RunawayState(b.customer(), breakers, b.timezone().getId());
        open.put(b.customer(), state);
        return List.of(new Ledger.Output(UsageTopology.RUNAWAY_SINK, b.customer(), state), notification(b));
    }

    /** The trip as a threshold event (kind {@code runaway}, at 100 % of its trip rate), so the notifier tells the customer's contacts. */
    private static Ledger.Output notification(Breaker b) {
        String id = b.customer() + '|' + b.limitId() + '|' + b.openedAt().toEpochMilli() + "|1";
        return new Ledger.Output(UsageTopology.THRESHOLDS_SINK, id, ThresholdCrossed.newBuilder()
                .setId(id).setCustomer(b.customer()).setLimitId(b.limitId()).setLabel(Breaker.LABEL).setKind("runaway")
                .setThreshold("1").setUsed(Decimals.money(b.rate())).setLimit(Decimals.money(b.tripRate())).setMeasure(Breaker.MEASURE)
                .setPeriodStart(b.openedAt()).setResetsAt(b.closesAt().atZone(b.timezone()).toOffsetDateTime().toString())
                .setTimezone(b.timezone().getId()).setAction(b.action().name().toLowerCase(Locale.ROOT))
                .setCrossedAt(b.openedAt())
                .build());
    }

    /** Closes every breaker whose cool-down has passed at {@code now} (a wall-clock punctuation); what to emit. */
    List<Ledger.Output> closeExpired(Instant now) {
        List<KeyValue<String, RunawayState>> all = new ArrayList<>();
        try (KeyValueIterator<String, RunawayState> it = open.all()) {
            it.forEachRemaining(all::add);
        }
        List<Ledger.Output> out = new ArrayList<>();
        for (KeyValue<String, RunawayState> kv : all) {
            close(kv.key, kv.value, b -> !b.getClosesAt().isAfter(now)).ifPresent(out::add);
        }
        return out;
    }

    /** Closes every breaker of the customer opened at or before {@code resetAt} and forgets its rates (they are measured afresh). */
    List<Ledger.Output> reset(String customer, Instant resetAt) {
        scopes.remove(customer);
        RunawayState state = open.get(customer);
        return state == null ? List.of() : close(customer, state, b -> !b.getOpenedAt().isAfter(resetAt)).map(List::of).orElse(List.of());
    }

    private Optional<Ledger.Output> close(String customer, RunawayState state, java.util.function.Predicate<RunawayBreaker> closes) {
        List<RunawayBreaker> still = state.getBreakers().stream().filter(closes.negate()).toList();
        if (still.size() == state.getBreakers().size()) {
            return Optional.empty();
        }
        if (still.isEmpty()) {
            open.delete(customer);
            return Optional.of(new Ledger.Output(UsageTopology.RUNAWAY_SINK, customer, null));
        }
        RunawayState after = new RunawayState(customer, new ArrayList<>(still), state.getTimezone());
        open.put(customer, after);
        return Optional.of(new Ledger.Output(UsageTopology.RUNAWAY_SINK, customer, after));
    }
}

package io.capstream.enforcement;

import io.capstream.policy.decision.Account;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.decision.Enforcement;
import io.capstream.policy.catalogue.Plan;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.input.FixedPoint;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.RunawayState;
import io.capstream.schemas.mapping.RunawayMapping;
import io.capstream.policy.runaway.Breaker;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.mapping.ParsedPolicy;
import io.capstream.schemas.topics.KeyedState;
import io.capstream.schemas.topics.Topics;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * The hot-path check (DESIGN 4.5): {@code check(request) → Decision} from local state only —
 * customers, the policy and every limit's running total, kept current by consuming the compacted
 * topics the pipeline writes — plus the requests this instance allowed whose usage has not arrived
 * yet. The rules are {@link Enforcement}'s.
 */
public final class Enforcer {
    /** Told of every decision (the decision log); must not block. */
    public interface Listener {
        void decided(CheckRequest request, Decision decision, Instant at);
    }

    private final KeyedState<CustomerRecord> customers;
    private final KeyedState<PolicyRecord> policies;
    private final KeyedState<LimitUsage> usage;
    private final LocalPending pending;
    private final BurstLimiter bursts = new BurstLimiter();
    private final io.capstream.policy.limit.CurrentPeriods periods = new io.capstream.policy.limit.CurrentPeriods();
    private final ParsedPolicy parsed = new ParsedPolicy();
    /** Bounded: customers not checked for a while are resolved again when they come back. */
    private final com.github.benmanes.caffeine.cache.Cache<String, Resolved> accounts =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(100_000).build();

    /** A customer's record (null: not configured) resolved under a policy once, not once per check. */
    private record Resolved(CustomerRecord record, PolicyDocument policy, Account account) {}
    private final Clock clock;
    private final Duration stalenessBound;
    private final Listener listener;
    private final Optional<Reserver> reserver;
    /** Each customer's open runaway circuit breakers (the {@code runaway-breakers} topic); null: none are known. */
    private final KeyedState<RunawayState> runaway;
    private final RunawayThrottle throttle = new RunawayThrottle();

    private Enforcer(Builder b) {
        this.runaway = b.runaway;
        this.customers = b.customers;
        this.policies = b.policies;
        this.usage = b.usage;
        this.pending = new LocalPending(b.pendingFor);
        this.stalenessBound = b.stalenessBound;
        this.listener = b.listener;
        this.clock = b.clock;
        this.reserver = b.reserver;
    }

    /**
     * An enforcer reading the customers, the policy and the running totals from these views (in a
     * service: {@link io.capstream.schemas.topics.TopicView}s of the {@code customers}, {@code policy}
     * and {@code usage-aggregates} topics).
     */
    public static Builder builder(KeyedState<CustomerRecord> customers, KeyedState<PolicyRecord> policies, KeyedState<LimitUsage> usage) {
        return new Builder(customers, policies, usage);
    }

    /** Builds an immutable {@link Enforcer}; every setting has a default. */
    public static final class Builder {
        private final KeyedState<CustomerRecord> customers;
        private final KeyedState<PolicyRecord> policies;
        private final KeyedState<LimitUsage> usage;
        private Duration pendingFor = Duration.ofSeconds(10);
        private Duration stalenessBound = Duration.ofSeconds(30);
        private Listener listener = (request, decision, at) -> { };
        private Clock clock = Clock.systemUTC();
        private Optional<Reserver> reserver = Optional.empty();
        private KeyedState<RunawayState> runaway;

        private Builder(KeyedState<CustomerRecord> customers, KeyedState<PolicyRecord> policies, KeyedState<LimitUsage> usage) {
            this.customers = customers;
            this.policies = policies;
            this.usage = usage;
        }

        /** How long an allowed request's estimate counts locally, until its usage can have arrived (default 10 s). */
        public Builder pendingFor(Duration pendingFor) {
            this.pendingFor = pendingFor;
            return this;
        }

        /**
         * Beyond this without hearing from the brokers, usage state is stale: each customer's checks fail
         * open (decided from the last known state, marked {@code degraded}) or closed (503), as its caps
         * or plan say (default 30 s).
         */
        public Builder stalenessBound(Duration stalenessBound) {
            this.stalenessBound = stalenessBound;
            return this;
        }

        /** Told of every decision (the decision log); must not block. */
        public Builder listener(Listener listener) {
            this.listener = listener;
            return this;
        }

        public Builder clock(Clock clock) {
            this.clock = clock;
            return this;
        }

        /**
         * Strict mode in process: checks that match a strict cap reserve their estimate at the
         * aggregator that owns the customer ({@code POST /v1/reservations} at {@code aggregatorUrl}, with
         * an API key of scope {@code check}), waiting at most {@code timeout}; without it, strict caps
         * fail open or closed as configured.
         */
        public Builder strictReservations(String aggregatorUrl, String apiKey, Duration timeout) {
            this.reserver = Reserver.of(aggregatorUrl, apiKey, timeout);
            return this;
        }

        /**
         * The customers' open runaway circuit breakers (in a service: a view of the {@code runaway-breakers} topic): while
         * one applies to a request, it is refused ({@code block}) or held to the baseline rate ({@code throttle}).
         */
        public Builder runaway(KeyedState<RunawayState> runaway) {
            this.runaway = runaway;
            return this;
        }

        public Enforcer build() {
            return new Enforcer(this);
        }
    }

    /** The running total this instance knows for a limit's period key ({@code customer|limit_id|period_start}), without pending estimates. */
    public Optional<BigDecimal> knownTotal(String key) {
        return usage.get(key).map(LimitUsage::getUsed);
    }

    /** Whether the local state has been loaded; before that, checks fail open or closed as the plan says. */
    public boolean ready() {
        return customers.caughtUp() && policies.caughtUp() && usage.caughtUp();
    }

    /**
     * What the policy in force cannot price in the request (an unknown model, an estimated meter without
     * a price), as {@code field: message}; empty when it can, or before any policy is known.
     */
    public java.util.List<io.capstream.policy.input.Problem> problems(CheckRequest request) {
        PolicyRecord record = policies.get(Topics.POLICY_KEY).orElse(null);
        return record == null ? java.util.List.of() : request.problems(parsed.parse(record));
    }

    /** The policy document in force, if one was applied. */
    public Optional<PolicyDocument> policy() {
        return policies.get(Topics.POLICY_KEY).map(parsed::parse);
    }

    /** The decision; a request the policy cannot price ({@link #problems}) is refused with 400 {@code invalid_request}. */
    public Decision check(CheckRequest request) {
        java.util.List<io.capstream.policy.input.Problem> problems = problems(request);
        if (problems.isEmpty()) {
            return checkValidated(request);
        }
        Decision refused = Decision.refused(Decision.Code.INVALID_REQUEST,
                String.join("; ", problems.stream().map(io.capstream.policy.input.Problem::toString).toList()), Optional.empty(), Optional.empty());
        listener.decided(request, refused, clock.instant());
        return refused;
    }

    /**
     * {@link #check} for a request already checked against the policy ({@link CheckRequest#read}): it is not
     * priced twice. Decided on the calling thread, without a future, unless a strict cap has to reserve.
     */
    Decision checkValidated(CheckRequest request) {
        Instant now = now();
        Object local = decideLocally(request, now);
        Decision decision = local instanceof Strict strict ? reserve(strict).join() : (Decision) local;
        listener.decided(request, decision, now);
        return decision;
    }

    /** The time, as one {@code Instant} per millisecond shared by the checks within it (a check allocates none). */
    private Instant now() {
        long millis = clock.millis();
        Instant last = lastInstant;
        if (last.toEpochMilli() != millis) {
            last = Instant.ofEpochMilli(millis);
            lastInstant = last;
        }
        return last;
    }

    private volatile Instant lastInstant = Instant.EPOCH;

    /**
     * {@link #checkValidated} without waiting: complete at once unless a strict cap has to reserve at
     * the aggregator, then when it answered (within the reservation timeout). Never completes
     * exceptionally for a failure of the aggregator: that is a decision too.
     */
    CompletableFuture<Decision> checkValidatedAsync(CheckRequest request) {
        Instant now = now();
        Object local = decideLocally(request, now);
        CompletableFuture<Decision> decided = local instanceof Strict strict ? reserve(strict) : CompletableFuture.completedFuture((Decision) local);
        return decided.thenApply(decision -> {
            listener.decided(request, decision, now);
            return decision;
        });
    }

    /** A check allowed locally that matches a strict cap: what {@link #reserve} needs to finish it. */
    private record Strict(CheckRequest request, Account account, Instant now, boolean stale, Decision decision, CheckRequest asked) {}

    /**
     * The {@link Decision} from local state alone, or a {@link Strict} when a strict cap must first reserve
     * at the aggregator. Allocates nothing on a plain allow.
     */
    private Object decideLocally(CheckRequest request, Instant now) {
        Optional<PolicyRecord> policyRecord = policies.get(Topics.POLICY_KEY);
        if (policyRecord.isEmpty()) {
            return NO_POLICY;
        }
        Account account = account(request.customer(), parsed.parse(policyRecord.get()));
        boolean stale = !ready() || now.toEpochMilli() - usage.lastHeard().toEpochMilli() > stalenessBound.toMillis();
        if (stale && !failsOpen(account, request)) {
            return STALE_CLOSED;
        }
        Decision decision = local(request, account, now);
        CheckRequest asked = needsReservation(request, account, decision, now);
        return asked != null ? new Strict(request, account, now, stale, decision, asked) : settle(request, account, now, stale, decision);
    }

    private Decision local(CheckRequest request, Account account, Instant now) {
        Optional<Decision.RateLimit> burst = bursts.refusal(request, account.plan());
        Decision local = Enforcement.decide(request, account, usageKnown, burst.isPresent() ? Optional.of(burst.get().reset()) : Optional.empty(),
                runawayRefusal(request, account, now), now, periods);
        return burst.isPresent() && local.code() == Decision.Code.KEY_RATE_LIMITED ? local.withRateLimit(burst.get()) : local;
    }

    /**
     * The refusal of an open runaway breaker of the customer or the request's key, if one applies: {@code block} refuses
     * until it closes, {@code throttle} once this instance let the scope spend its baseline in the current minute,
     * {@code notify} never. Reads nothing but one map lookup when the customer has no open breaker.
     */
    private Optional<Decision> runawayRefusal(CheckRequest request, Account account, Instant now) {
        if (runaway == null) {
            return Optional.empty();
        }
        Optional<RunawayState> state = runaway.get(request.customer());
        if (state.isEmpty()) {
            return Optional.empty();
        }
        for (io.capstream.schemas.RunawayBreaker b : state.get().getBreakers()) {
            Breaker breaker = RunawayMapping.breaker(state.get(), b);
            if (!breaker.openAt(now) || !breaker.covers(request.apiKey()) || breaker.action() == io.capstream.policy.limit.LimitAction.NOTIFY) {
                continue;
            }
            if (breaker.action() == io.capstream.policy.limit.LimitAction.BLOCK) {
                return Optional.of(breaker.refusal(now, Optional.empty()));
            }
            Optional<Duration> wait = throttle.admit(breaker, estimatedCost(request, account), now);
            if (wait.isPresent()) {
                return Optional.of(breaker.refusal(now, wait));
            }
        }
        return Optional.empty();
    }

    private static BigDecimal estimatedCost(CheckRequest request, Account account) {
        return request.estimatedCost().orElseGet(() -> io.capstream.policy.catalogue.Pricing.cost(account.policy(), request.model(), request.estimate()));
    }

    /** The request to reserve for when an allowed request matches a strict cap (on the model it was allowed on); otherwise null. */
    private static CheckRequest needsReservation(CheckRequest request, Account account, Decision decision, Instant now) {
        if (!decision.allowsRequest() || !account.anyStrict() || account.customer().noHardCaps()) {
            return null;
        }
        // strict caps are decided at the aggregator that owns the customer, against every instance's reservations
        CheckRequest asked = decision.model().map(m -> new CheckRequest(request.customer(), request.user(), request.apiKey(), request.feature(),
                m, request.estimate(), request.estimatedCost())).orElse(request);
        return Enforcement.strictHolds(asked, account, now).isEmpty() ? null : asked;
    }

    /** Finishes a check that matches a strict cap with the aggregator's reservation (within the reservation timeout). */
    private CompletableFuture<Decision> reserve(Strict s) {
        CompletableFuture<Reserver.Outcome> outcome = reserver.map(r -> r.reserve(s.asked())).orElse(CompletableFuture.completedFuture(
                new Reserver.Outcome.Unavailable("no aggregator.url is configured for strict caps")));
        return outcome.thenApply(o -> settle(s.request(), s.account(), s.now(), s.stale(), reserved(o, s.decision(), s.account(), s.asked())));
    }

    private static final Decision NO_POLICY = Decision.refused(Decision.Code.USAGE_STATE_UNAVAILABLE,
            "No policy document has been applied yet.", Optional.empty(), Optional.of(Duration.ofSeconds(5)));
    private static final Decision STALE_CLOSED = Decision.refused(Decision.Code.USAGE_STATE_UNAVAILABLE,
            "Usage state is unavailable, and this account's limits fail closed; try again shortly.", Optional.empty(),
            Optional.of(Duration.ofSeconds(1))).asDegraded();

    private static Decision reserved(Reserver.Outcome outcome, Decision decision, Account account, CheckRequest asked) {
        return switch (outcome) {
            case Reserver.Outcome.Reserved r -> decision.withReservation(r.id());
            case Reserver.Outcome.Refused r -> Decision.refused(Decision.Code.SPEND_CAP_REACHED, r.message(), Optional.empty(), Optional.empty());
            case Reserver.Outcome.Unavailable u -> failsOpen(account, asked) ? decision.asDegraded()
                    : Decision.refused(Decision.Code.USAGE_STATE_UNAVAILABLE, "A strict cap cannot be checked now (" + u.why() + "); try again shortly.",
                            Optional.empty(), Optional.of(Duration.ofSeconds(1))).asDegraded();
        };
    }

    /**
     * An allowed request's estimate counts locally until its usage arrives (for a strict cap only when no reservation holds it at the
     * owner: a degraded allow); a stale state marks the decision degraded.
     */
    private Decision settle(CheckRequest request, Account account, Instant now, boolean stale, Decision decision) {
        if (decision.allowsRequest()) {
            pending.add(request, account, decision.model().orElse(request.model()), now, keyOf, periods, decision.reservationId().isPresent());
        }
        return stale ? decision.asDegraded() : decision;
    }

    /** A matching limit's own setting wins (closed over open); otherwise the plan's (defaults: paid plans open, free closed). */
    private static boolean failsOpen(Account account, CheckRequest request) {
        boolean explicitOpen = false;
        for (Limit limit : account.limits()) {
            if (limit.failOpen().isPresent() && limit.matches(request.feature(), request.model(), request.user(), request.apiKey())) {
                if (!limit.failOpen().get()) {
                    return false;
                }
                explicitOpen = true;
            }
        }
        return explicitOpen || account.plan().map(Plan::failOpen).orElse(true);
    }

    /** The customer resolved under the policy in force, kept until its record or the policy changes. */
    private Account account(String id, PolicyDocument policy) {
        CustomerRecord record = customers.get(id).orElse(null);
        Resolved cached = accounts.getIfPresent(id);
        if (cached == null || cached.record() != record || cached.policy() != policy) {
            Customer customer = record == null ? Customer.unconfigured(id, policy.defaultPlan().orElse(null)) : CustomerMapping.fromRecord(record);
            cached = new Resolved(record, policy, Account.of(customer, policy));
            accounts.put(id, cached);
        }
        return cached.account();
    }

    /**
     * The running total's key of a limit's current period, built once per period rather than per check,
     * with the last total seen under it in {@link FixedPoint} units (converted once per record, not per check).
     */
    private static final class PeriodKey {
        final Instant start;
        final String key;
        /** Replaced whole, so a reader never pairs one record with another's conversion. */
        volatile Seen seen;

        PeriodKey(Instant start, String key) {
            this.start = start;
            this.key = key;
        }

        long fixed(LimitUsage total) {
            Seen s = seen;
            if (s == null || s.record() != total) {
                s = new Seen(total, FixedPoint.of(total.getUsed()));
                seen = s;
            }
            return s.fixed();
        }
    }

    private record Seen(LimitUsage record, long fixed) {}

    /**
     * customer → limit id → the key of its current period; nested so a lookup allocates nothing. Bounded like the accounts: a
     * caller may name any customer.
     */
    private final com.github.benmanes.caffeine.cache.Cache<String, java.util.Map<String, PeriodKey>> keys =
            com.github.benmanes.caffeine.cache.Caffeine.newBuilder().maximumSize(100_000).build();

    private PeriodKey periodKey(String customer, String limitId, Instant periodStart) {
        java.util.Map<String, PeriodKey> limits = keys.get(customer, c -> new java.util.concurrent.ConcurrentHashMap<>());
        PeriodKey cached = limits.get(limitId);
        if (cached == null || !cached.start.equals(periodStart)) {
            cached = new PeriodKey(periodStart, io.capstream.schemas.topics.UsageKey.of(customer, limitId, periodStart));
            limits.put(limitId, cached);
        }
        return cached;
    }

    private String key(String customer, String limitId, Instant periodStart) {
        return periodKey(customer, limitId, periodStart).key;
    }

    /** Built once: a bound method reference is a new object on every evaluation. */
    private final LocalPending.Keys keyOf = this::key;

    /** What each limit has counted: the running total this instance knows plus its own pending estimates. */
    private final Enforcement.Usage usageKnown = new Enforcement.Usage() {
        @Override
        public BigDecimal used(String customer, String limitId, Instant periodStart, Instant now) {
            String key = key(customer, limitId, periodStart);
            LimitUsage total = usage.get(key).orElse(null);
            BigDecimal known = total == null ? BigDecimal.ZERO : total.getUsed();
            BigDecimal pendingHere = pending.sum(key, now);
            return pendingHere.signum() == 0 ? known : known.add(pendingHere);
        }

        @Override
        public long usedFixed(String customer, String limitId, Instant periodStart, Instant now) {
            PeriodKey k = periodKey(customer, limitId, periodStart);
            LimitUsage total = usage.get(k.key).orElse(null);
            long known = total == null ? 0 : k.fixed(total);
            BigDecimal pendingHere = pending.sum(k.key, now);
            return pendingHere.signum() == 0 ? known : FixedPoint.plus(known, FixedPoint.of(pendingHere));
        }

        @Override
        public BigDecimal pending(String customer, String limitId, Instant periodStart, Instant now) {
            return pending.sum(key(customer, limitId, periodStart), now);
        }
    };
}

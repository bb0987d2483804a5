package io.capstream.policy.decision;

import io.capstream.policy.catalogue.Model;
import io.capstream.policy.catalogue.Plan;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.catalogue.UnpriceableUsageException;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.input.FixedPoint;
import io.capstream.policy.limit.CurrentPeriods;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.LimitState;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.Period;

import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.function.BiFunction;

/**
 * The enforcement decision (DESIGN 4.5), pure. Evaluation order, first that applies wins:
 * <ol>
 *   <li>customer disabled → 403 {@code customer_disabled};</li>
 *   <li>model not in the plan's tiers → downgrade along {@code downgrade_to} to an allowed model, or
 *       403 {@code model_not_allowed};</li>
 *   <li>burst limit → 429 {@code key_rate_limited} with {@code Retry-After} (decided by the caller,
 *       passed in);</li>
 *   <li>entitlements and caps with the request's estimated cost added → the limit's action:
 *       block → 402, downgrade → allow on a cheaper model (or 402 when the chain ends), throttle →
 *       429, notify / bill_overage → allow;</li>
 *   <li>a limit at 80 % or more → allow with warnings.</li>
 * </ol>
 * Customers with {@code no_hard_caps} are never refused by a limit; they still get warnings.
 */
public final class Enforcement {
    private Enforcement() {}

    /**
     * What a limit has counted in a period, as the caller knows it at {@code now} (the enforcer: the
     * running total plus its own pending estimates). An interface rather than a lambda over the request,
     * so that a check allocates no closure for it.
     */
    @FunctionalInterface
    public interface Usage {
        BigDecimal used(String customer, String limitId, Instant periodStart, Instant now);

        /**
         * {@link #used} in {@link FixedPoint} units, or {@link FixedPoint#NONE}; a caller that keeps the
         * conversion of each running total (the enforcer) answers without allocating.
         */
        default long usedFixed(String customer, String limitId, Instant periodStart, Instant now) {
            return FixedPoint.of(used(customer, limitId, periodStart, now));
        }

        /**
         * The part of {@link #used} that is the caller's own estimates of requests it allowed whose usage may not have arrived yet
         * (the enforcer's pending estimates); asked only to word a refusal, so that it does not call them used.
         */
        default BigDecimal pending(String customer, String limitId, Instant periodStart, Instant now) {
            return BigDecimal.ZERO;
        }
    }

    /**
     * @param used  what a limit has counted in a period: (limit id, period start) → amount
     * @param burst a burst limit's refusal (how long to wait), if one applies
     */
    public static Decision decide(CheckRequest request, Customer customer, PolicyDocument policy,
                                  BiFunction<String, Instant, BigDecimal> used, Optional<Duration> burst, Instant now) {
        return decide(request, customer, policy, used, burst, now, new CurrentPeriods());
    }

    /** As above, with the caller's memo of current periods (the enforcer keeps one across checks). */
    public static Decision decide(CheckRequest request, Customer customer, PolicyDocument policy,
                                  BiFunction<String, Instant, BigDecimal> used, Optional<Duration> burst, Instant now,
                                  CurrentPeriods periods) {
        return decide(request, Account.of(customer, policy), (c, limitId, periodStart, at) -> used.apply(limitId, periodStart), burst, now, periods);
    }

    /** As above, for a customer already resolved under the policy (the enforcer keeps its {@link Account}s across checks). */
    public static Decision decide(CheckRequest request, Account account, Usage used,
                                  Optional<Duration> burst, Instant now, CurrentPeriods periods) {
        return decide(request, account, used, burst, Optional.empty(), now, periods);
    }

    /**
     * As above, with the refusal of an open runaway circuit breaker that applies to the request, if any
     * ({@link io.capstream.policy.runaway.Breaker#refusal}): it comes after the burst limit, before the limits.
     */
    public static Decision decide(CheckRequest request, Account account, Usage used,
                                  Optional<Duration> burst, Optional<Decision> runaway, Instant now, CurrentPeriods periods) {
        Customer customer = account.customer();
        PolicyDocument policy = account.policy();
        Optional<Plan> plan = account.plan();
        if (customer.status() == Customer.Status.DISABLED) {
            return Decision.refused(Decision.Code.CUSTOMER_DISABLED, "The account " + customer.id() + " is disabled; contact support to re-enable it.",
                    Optional.empty(), Optional.empty());
        }
        String model = request.model();
        String downgradeReason = null;
        if (model != null && plan.isPresent()) {
            Optional<Model> m = policy.model(model);
            if (m.isPresent() && !plan.get().modelTiers().contains(m.get().tier())) {
                Optional<String> allowed = chain(policy, model).stream()
                        .filter(c -> plan.get().modelTiers().contains(policy.model(c).map(Model::tier).orElse(""))).findFirst();
                if (allowed.isEmpty()) {
                    return Decision.refused(Decision.Code.MODEL_NOT_ALLOWED, "The " + plan.get().name() + " plan does not include " + model
                            + " (tier " + m.get().tier() + "); upgrade to use it." + policy.links().upgradeFor(customer.id(), "model:" + model)
                            .map(u -> " Upgrade: " + u).orElse(""), Optional.empty(), Optional.empty());
                }
                downgradeReason = "The " + plan.get().name() + " plan does not include " + model + "; using " + allowed.get() + ".";
                model = allowed.get();
            }
        }
        if (burst.isPresent()) {
            return Decision.refused(Decision.Code.KEY_RATE_LIMITED, "Too many requests for this key; retry in " + Decision.retryAfterSeconds(burst.get())
                    + " s.", Optional.empty(), burst);
        }
        if (runaway.isPresent()) {
            return runaway.get();
        }
        Limits limits = SCRATCH.get().reset(request, account, used, now, periods);
        // try the requested (or tier-allowed) model, then cheaper ones while a downgrade limit is what is over
        String candidate = model;
        // the policy loader refuses downgrade cycles; the walk is bounded all the same (each model tried once)
        java.util.Set<String> tried = null; // allocated only when a downgrade is tried
        while (true) {
            Optional<Over> over = customer.noHardCaps() ? Optional.empty() : limits.firstOver(candidate);
            if (over.isEmpty()) {
                List<Decision.LimitInfo> warnings = limits.warnings(candidate);
                if (candidate != null && !candidate.equals(request.model())) {
                    String why = downgradeReason != null && candidate.equals(model) ? downgradeReason
                            : "Over a limit on " + request.model() + "; using " + candidate + ".";
                    return Decision.downgraded(candidate, why, limits.lastOver, warnings);
                }
                return Decision.allowed(warnings);
            }
            Over o = over.get();
            LimitAction action = o.limit().action();
            if (action == LimitAction.DOWNGRADE && candidate != null) {
                Optional<String> cheaper = policy.model(candidate).flatMap(Model::downgradeTo);
                if (tried == null) {
                    tried = new java.util.HashSet<>();
                    tried.add(model);
                }
                if (cheaper.isPresent() && tried.add(cheaper.get())) {
                    candidate = cheaper.get();
                    continue;
                }
            }
            if (action == LimitAction.THROTTLE) {
                return Decision.refused(o.limit().refusalCode(), o.message() + " Requests are slowed down until it resets.",
                        Optional.of(o.info()), Optional.of(Duration.ofSeconds(30)));
            }
            return Decision.refused(o.limit().refusalCode(), o.message(), Optional.of(o.info()), Optional.empty());
        }
    }

    /** What a strict cap must hold for a request: its id, current period, the amount and the cap. */
    public record StrictHold(String limitId, Instant periodStart, BigDecimal amount, BigDecimal limit, Decision.LimitInfo info) {}

    /**
     * The holds a request needs on the customer's strict limits (those it matches), each in the limit's
     * current period: the request's estimated cost for a USD limit, its units for a meter limit.
     */
    public static List<StrictHold> strictHolds(CheckRequest request, Customer customer, PolicyDocument policy, Instant now) {
        return strictHolds(request, Account.of(customer, policy), now);
    }

    /** As above, for a customer already resolved under the policy. */
    public static List<StrictHold> strictHolds(CheckRequest request, Account account, Instant now) {
        if (!account.anyStrict()) {
            return List.of();
        }
        Limits limits = new Limits().reset(request, account, NOTHING_USED, now, new CurrentPeriods());
        BigDecimal cost = limits.cost(request.model());
        List<StrictHold> holds = new ArrayList<>();
        for (Limit limit : account.limits()) {
            if (limit.strict() && limit.matches(request.feature(), request.model(), request.user(), request.apiKey())) {
                Period period = limit.periodAt(account.customer(), now);
                holds.add(new StrictHold(limit.limitId(), period.start(), limit.estimated(cost, request.estimate()), limit.amount(),
                        limits.info(limit, BigDecimal.ZERO, period)));
            }
        }
        return holds;
    }

    private static final Usage NOTHING_USED = (customer, limitId, periodStart, now) -> BigDecimal.ZERO;

    private static List<String> chain(PolicyDocument policy, String model) {
        List<String> chain = new ArrayList<>();
        Optional<String> next = policy.model(model).flatMap(Model::downgradeTo);
        while (next.isPresent() && !chain.contains(next.get())) {
            chain.add(next.get());
            next = policy.model(next.get()).flatMap(Model::downgradeTo);
        }
        return chain;
    }

    /** The first limit a request would take past 100 %, and the sentence that says so. */
    private record Over(Limit limit, String message, Decision.LimitInfo info) {}

    /**
     * Each thread's {@link Limits}, set up again for every check: a check allocates neither it nor its
     * memo arrays (a decision never outlives the call, so nothing else holds it).
     */
    private static final ThreadLocal<Limits> SCRATCH = ThreadLocal.withInitial(Limits::new);

    /** The customer's limits for one request, with what the request looked up so far. */
    private static final class Limits {
        private CheckRequest request;
        private Account account;
        private Customer customer;
        private PolicyDocument policy;
        private Optional<Plan> plan;
        private List<Limit> all;
        private Usage used;
        private Instant now;
        private CurrentPeriods periods;
        Optional<Decision.LimitInfo> lastOver;

        Limits reset(CheckRequest request, Account account, Usage used, Instant now, CurrentPeriods periods) {
            this.request = request;
            this.account = account;
            this.customer = account.customer();
            this.policy = account.policy();
            this.plan = account.plan();
            this.all = account.limits();
            this.used = used;
            this.now = now;
            this.periods = periods;
            this.lastOver = Optional.empty();
            this.pricedModel = null;
            this.pricedCost = null;
            this.fixedPriced = false;
            int n = all.size();
            if (usedMemo.length < n) {
                usedMemo = new BigDecimal[Math.max(n, 2 * usedMemo.length)];
                spentMemo = new BigDecimal[usedMemo.length];
                usedFixedMemo = new long[usedMemo.length];
            } else {
                java.util.Arrays.fill(usedMemo, 0, n, null);
            }
            java.util.Arrays.fill(usedFixedMemo, 0, n, UNKNOWN);
            spentFor = NOT_PRICED;
            return this;
        }

        private String pricedModel;
        private BigDecimal pricedCost;

        private boolean fixedPriced;
        private String fixedModel;
        private long fixedCost;

        /** {@link #cost} in {@link FixedPoint} units (or NONE), priced once per model without allocating. */
        long costFixed(String model) {
            if (!fixedPriced || !java.util.Objects.equals(model, fixedModel)) {
                fixedPriced = true;
                fixedModel = model;
                Optional<BigDecimal> stated = request.estimatedCost();
                fixedCost = stated.isPresent() ? FixedPoint.of(stated.get()) : Pricing.costFixed(policy, model, request.estimate());
            }
            return fixedCost;
        }

        private long[] usedFixedMemo = new long[8];
        private static final long UNKNOWN = Long.MIN_VALUE + 1;

        /** {@link #usedBy} in {@link FixedPoint} units (or NONE), looked up once per check. */
        private long usedFixedBy(int i, Period period) {
            long u = usedFixedMemo[i];
            if (u == UNKNOWN) {
                u = used.usedFixed(customer.id(), account.limitId(i), period.start(), now);
                usedFixedMemo[i] = u;
            }
            return u;
        }

        /**
         * A money limit's use on {@code model} with the request's cost added, in {@link FixedPoint} units:
         * NONE when something is not representable (then decide with {@link BigDecimal}).
         */
        private long spentFixed(int i, Period period, String model) {
            long c = costFixed(model);
            if (c == FixedPoint.NONE) {
                return FixedPoint.NONE;
            }
            long u = usedFixedBy(i, period);
            return c == 0 ? u : FixedPoint.plus(u, c);
        }

        /** The request's estimated cost on {@code model}, priced once per model. */
        BigDecimal cost(String model) {
            if (pricedCost == null || !java.util.Objects.equals(model, pricedModel)) {
                pricedModel = model;
                Optional<BigDecimal> stated = request.estimatedCost();
                if (stated.isPresent()) {
                    pricedCost = stated.get();
                } else {
                    try {
                        pricedCost = Pricing.cost(policy, model, request.estimate());
                    } catch (UnpriceableUsageException e) {
                        pricedCost = BigDecimal.ZERO;
                    }
                }
            }
            return pricedCost;
        }

        /** The first limit that would refuse the request on {@code model}; limits that only notify or bill never refuse. */
        Optional<Over> firstOver(String model) {
            for (int i = 0; i < all.size(); i++) {
                Limit limit = all.get(i);
                if (limit.action().lets() || !limit.matches(request.feature(), model, request.user(), request.apiKey())) {
                    continue;
                }
                Period period = periods.of(limit, customer, now);
                if (limit.measure().isMoney() && account.amountFixed(i) != FixedPoint.NONE) {
                    // the common case, without allocating: only a limit that refuses needs the exact BigDecimals below
                    long s = spentFixed(i, period, model);
                    if (s != FixedPoint.NONE && (costFixed(model) == 0 ? s < account.amountFixed(i) : s <= account.amountFixed(i))) {
                        continue;
                    }
                }
                BigDecimal cost = cost(model);
                BigDecimal u = usedBy(i, period);
                BigDecimal adds = limit.measure().isMoney() ? cost : limit.estimated(cost, request.estimate());
                boolean over = limit.measure().isMoney()
                        ? (cost.signum() == 0 ? u.compareTo(limit.amount()) >= 0 : spent(i, period, model, cost).compareTo(limit.amount()) > 0)
                        : over(u, adds, limit.amount());
                if (over) {
                    Decision.LimitInfo info = info(limit, u, period);
                    lastOver = Optional.of(info);
                    BigDecimal inFlight = used.pending(customer.id(), account.limitId(i), period.start(), now);
                    return Optional.of(new Over(limit, sentence(limit, info, u, inFlight, adds), info));
                }
            }
            return Optional.empty();
        }

        /** The limits at 80 % or more with this request's cost added (units are not added: a warning is about spend). */
        List<Decision.LimitInfo> warnings(String model) {
            List<Decision.LimitInfo> warnings = null; // allocated only when a limit warns
            for (int i = 0; i < all.size(); i++) {
                Limit limit = all.get(i);
                if (limit.matches(request.feature(), model, request.user(), request.apiKey())) {
                    Period period = periods.of(limit, customer, now);
                    long fixed = limit.measure().isMoney() ? spentFixed(i, period, model) : usedFixedBy(i, period);
                    if (account.warnsFixed(i, fixed) == 0) {
                        continue; // the common case, without allocating
                    }
                    BigDecimal cost = cost(model);
                    BigDecimal u = limit.measure().isMoney() && cost.signum() != 0 ? spent(i, period, model, cost) : usedBy(i, period);
                    if (account.warns(i, u)) {
                        if (warnings == null) {
                            warnings = new ArrayList<>(2);
                        }
                        warnings.add(info(limit, u, period));
                    }
                }
            }
            return warnings == null ? List.of() : warnings;
        }

        private BigDecimal[] usedMemo = new BigDecimal[8];
        private BigDecimal[] spentMemo = new BigDecimal[8];
        /** The model {@link #spentMemo} holds sums for ({@link #NOT_PRICED}: none yet; a model may be null). */
        private Object spentFor = NOT_PRICED;
        private static final Object NOT_PRICED = new Object();

        /** What the {@code i}-th limit has counted in its current period: looked up once per check, for refusing and for warning. */
        private BigDecimal usedBy(int i, Period period) {
            BigDecimal u = usedMemo[i];
            if (u == null) {
                u = used.used(customer.id(), account.limitId(i), period.start(), now);
                usedMemo[i] = u;
            }
            return u;
        }

        /** A money limit's use with the request's cost on {@code model} added: one sum decides both refusing and warning. */
        private BigDecimal spent(int i, Period period, String model, BigDecimal cost) {
            if (spentFor == NOT_PRICED || !java.util.Objects.equals(spentFor, model)) {
                java.util.Arrays.fill(spentMemo, 0, all.size(), null);
                spentFor = model;
            }
            BigDecimal s = spentMemo[i];
            if (s == null) {
                s = usedBy(i, period).add(cost);
                spentMemo[i] = s;
            }
            return s;
        }

        private static boolean over(BigDecimal used, BigDecimal add, BigDecimal limit) {
            return add.signum() == 0 ? used.compareTo(limit) >= 0 : used.add(add).compareTo(limit) > 0;
        }

        private Decision.LimitInfo info(Limit limit, BigDecimal u, Period period) {
            Measure measure = limit.measure();
            ZoneId zone = limit.zone(customer);
            String id = limit.limitId();
            return new Decision.LimitInfo(id, limit.displayLabel(), measure.name(),
                    measure.isMoney() ? Decimals.formatMoney(u) : Decimals.formatQuantity(u),
                    measure.isMoney() ? Decimals.formatMoney(limit.amount()) : Decimals.formatQuantity(limit.amount()),
                    LimitState.percent(u, limit.amount()).toPlainString(), period.end().atZone(zone).toOffsetDateTime(), zone.getId(),
                    policy.links().raiseCapFor(customer.id(), id), policy.links().upgradeFor(customer.id(), id),
                    policy.links().topUpFor(customer.id(), id));
        }

        /**
         * Why the request is refused, for people: a limit used up says so; a limit this request alone would take past its amount
         * says what is used, what is left and what the request is estimated at, exactly (a cap with $80 left is not "used up"
         * for a request estimated at $1,000, and "$10.00 used" of $10.00 would hide the $0.001 left). What of it is estimates of
         * requests allowed moments ago ({@code inFlight}) is said to be, since the customer's usage page does not show it yet.
         */
        private String sentence(Limit limit, Decision.LimitInfo info, BigDecimal used, BigDecimal inFlight, BigDecimal adds) {
            String measure = limit.measure().name();
            String subject = limit.wayOut() == Limit.WayOut.UPGRADE
                    ? "The " + plan.map(Plan::name).orElse("") + " plan's " + limit.displayLabel() + " allowance"
                    : "Your " + limit.displayLabel();
            Optional<String> url = limit.wayOut() == Limit.WayOut.UPGRADE ? info.upgradeUrl() : info.raiseCapUrl();
            String way = limit.wayOut() == Limit.WayOut.UPGRADE ? "Upgrade" : "Raise the cap";
            String counted = inFlight.signum() <= 0 ? "" : Wording.exact(inFlight, measure) + " of it requests allowed in the last seconds, counted"
                    + " until their usage arrives";
            String state = used.compareTo(limit.amount()) >= 0
                    ? " is used up (" + Wording.amount(used, measure) + " used" + (counted.isEmpty() ? "" : ", " + counted) + ")"
                    : " does not cover this request: " + Wording.exact(used, measure) + " used" + (counted.isEmpty() ? "" : " (" + counted + ")") + ", "
                            + Wording.exact(limit.amount().subtract(used), measure) + " left, and this request is estimated at " + Wording.exact(adds, measure);
            return subject + " of " + Wording.amount(limit.amount(), measure) + state + ". It resets on "
                    + Wording.when(info.resetsAt().toInstant(), ZoneId.of(info.timezone())) + "."
                    + url.map(u -> " " + way + ": " + u).orElse("");
        }
    }
}

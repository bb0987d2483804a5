package io.capstream.policy.decision;

import io.capstream.policy.catalogue.Plan;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.limit.Limit;

import java.math.BigDecimal;
import java.util.List;
import java.util.Optional;

/**
 * A customer under one policy version, resolved once for the hot path: its plan, its limits in
 * order ({@link Customer#limits}) and what every check would otherwise recompute from them — each
 * limit's warning amount, whether any limit is strict. A check ({@link Enforcement#decide}) reads it
 * and allocates nothing for it. The enforcer and the aggregator's ledger each keep one per customer
 * until the customer's record or the policy changes.
 */
public final class Account {
    /** A limit warns from this fraction of its amount (DESIGN 4.5). */
    static final BigDecimal WARN_AT = new BigDecimal("0.8");

    private final Customer customer;
    private final PolicyDocument policy;
    private final Optional<Plan> plan;
    private final List<Limit> limits;
    private final String[] limitIds;
    private final BigDecimal[] warnFrom;
    /** Each limit's amount and warning amount in {@link io.capstream.policy.input.FixedPoint} units (or NONE), for checks that allocate nothing. */
    private final long[] amountFixed;
    private final long[] warnFixed;
    private final boolean anyStrict;

    private Account(Customer customer, PolicyDocument policy) {
        this.customer = customer;
        this.policy = policy;
        this.plan = policy.plan(customer.plan());
        this.limits = List.copyOf(customer.limits(plan));
        this.limitIds = new String[limits.size()];
        this.warnFrom = new BigDecimal[limits.size()];
        this.amountFixed = new long[limits.size()];
        this.warnFixed = new long[limits.size()];
        boolean strict = false;
        for (int i = 0; i < warnFrom.length; i++) {
            Limit limit = limits.get(i);
            limitIds[i] = limit.limitId();
            warnFrom[i] = limit.amount().multiply(WARN_AT);
            amountFixed[i] = io.capstream.policy.input.FixedPoint.of(limit.amount());
            warnFixed[i] = io.capstream.policy.input.FixedPoint.of(warnFrom[i]);
            strict |= limit.strict();
        }
        this.anyStrict = strict;
    }

    public static Account of(Customer customer, PolicyDocument policy) {
        return new Account(customer, policy);
    }

    public Customer customer() {
        return customer;
    }

    public PolicyDocument policy() {
        return policy;
    }

    public Optional<Plan> plan() {
        return plan;
    }

    /** Every limit, in {@link Customer#limits} order. */
    public List<Limit> limits() {
        return limits;
    }

    /** Whether some limit reserves at the aggregator ({@link Limit#strict}); without one, a check never needs {@link Enforcement#strictHolds}. */
    public boolean anyStrict() {
        return anyStrict;
    }

    /** The {@code i}-th limit's {@link Limit#limitId}, built once rather than per check. */
    String limitId(int i) {
        return limitIds[i];
    }

    long amountFixed(int i) {
        return amountFixed[i];
    }

    /**
     * {@link #warns} in {@link io.capstream.policy.input.FixedPoint} units: 1 (warns), 0 (does not), or -1 when
     * {@code used} or the warning amount is not representable (ask {@link #warns}).
     */
    int warnsFixed(int i, long used) {
        if (used == io.capstream.policy.input.FixedPoint.NONE || warnFixed[i] == io.capstream.policy.input.FixedPoint.NONE) {
            return -1;
        }
        if (amountFixed[i] == 0) {
            return used > 0 ? 1 : 0;
        }
        return used >= warnFixed[i] ? 1 : 0;
    }

    /** Whether the {@code i}-th limit warns at {@code used}: at 80 % of its amount or more (a zero amount: at any use). */
    boolean warns(int i, BigDecimal used) {
        return limits.get(i).amount().signum() == 0 ? used.signum() > 0 : used.compareTo(warnFrom[i]) >= 0;
    }
}

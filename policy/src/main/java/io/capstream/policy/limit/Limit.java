package io.capstream.policy.limit;

import io.capstream.policy.booking.Accounting;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.Decision;

import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A limit: something that counts a customer's usage per period against an amount, warns at
 * thresholds and acts at 100 %. A plan's entitlements and a customer's caps are limits; every rule
 * that books, reports or enforces loops over {@link Customer#limits} the same way (as bucket4j's
 * algorithms loop over its bandwidths), so a new kind of limit is one new implementation here.
 */
public sealed interface Limit permits Entitlement, Cap, Limit.Custom {
    /** A kind of limit defined outside this file's list (tests, extensions); it follows the same rules. */
    non-sealed interface Custom extends Limit {}

    /** How a refusal points the way out: raise the limit, or upgrade the plan. */
    enum WayOut { RAISE_CAP, UPGRADE }

    /** Unique among the customer's limits, with its kind as prefix ({@link LimitIds}). */
    String limitId();

    /** {@code entitlement} or {@code cap} (or a custom kind's name), as reports and records show it. */
    String kind();

    /** How people see it named. */
    String displayLabel();

    /** The feature it is scoped to, or null for every feature. */
    String feature();

    Measure measure();

    /** The amount per period, in the measure. */
    BigDecimal amount();

    /** Fractions of the amount at which it notifies, ascending. */
    List<BigDecimal> thresholds();

    LimitAction action();

    ResetSchedule period();

    /** Its own timezone; empty means the customer's. */
    Optional<ZoneId> timezone();

    /** Whether it counts a request or event with these attributes. */
    boolean matches(String feature, String model, String user, String apiKey);

    /** What it counts of one booked event, given the event's accounting split and quantities per meter. */
    BigDecimal counted(Accounting.Split split, Map<String, BigDecimal> usage);

    /** The refusal code when a request would take it past 100 %. */
    Decision.Code refusalCode();

    WayOut wayOut();

    /** Whether usage within it is included in the plan's price (the accounting split's included part). */
    default boolean includes() {
        return false;
    }

    /** Strict mode: reserve estimates at the owning aggregator before allowing. */
    default boolean strict() {
        return false;
    }

    /** What to do when usage state is unavailable; empty means the plan's default. */
    default Optional<Boolean> failOpen() {
        return Optional.empty();
    }

    /** What a request's estimate adds to it: the estimated cost for USD, the estimated units of its meter otherwise. */
    default BigDecimal estimated(BigDecimal cost, Map<String, BigDecimal> estimate) {
        return measure().isMoney() ? cost : estimate.getOrDefault(measure().name(), BigDecimal.ZERO);
    }

    default ZoneId zone(Customer customer) {
        return timezone().orElse(customer.timezone());
    }

    /** The period containing {@code t} for this customer (billing anchor, timezone). */
    default Period periodAt(Customer customer, Instant t) {
        return period().resolve(customer.billingAnchorDay()).periodAt(t, zone(customer));
    }
}

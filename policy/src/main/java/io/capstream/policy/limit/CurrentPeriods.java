package io.capstream.policy.limit;

import io.capstream.policy.customer.Customer;

import java.time.Instant;
import java.time.ZoneId;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The current period of limits, remembered per schedule and zone until the present leaves it: the
 * hot path asks for the current period of the same limits many times a second. An instance belongs
 * to its user (the enforcer holds one); bounded, since schedules and zones are few. Thread-safe.
 */
public final class CurrentPeriods {
    private record Key(ResetSchedule schedule, ZoneId zone) {}

    private static final int MAX = 10_000;
    private final Map<Key, Period> periods = new ConcurrentHashMap<>();

    /** The period of {@code limit} for {@code customer} that contains {@code now}. */
    public Period of(Limit limit, Customer customer, Instant now) {
        Key key = new Key(limit.period().resolve(customer.billingAnchorDay()), limit.zone(customer));
        Period cached = periods.get(key);
        if (cached != null && cached.contains(now)) {
            return cached;
        }
        Period period = key.schedule().periodAt(now, key.zone());
        if (periods.size() < MAX) {
            periods.put(key, period);
        }
        return period;
    }
}

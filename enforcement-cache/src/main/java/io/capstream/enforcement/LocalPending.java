package io.capstream.enforcement;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import com.github.benmanes.caffeine.cache.Ticker;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.limit.Period;
import io.capstream.policy.decision.Account;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.catalogue.UnpriceableUsageException;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;

/**
 * Requests this instance allowed whose usage has not reached the running totals yet: their
 * estimates count against the limits for {@code pendingFor} (longer than the pipeline's usual
 * delay, counted in whole seconds), so one instance does not let a burst of requests run past a
 * limit before the usage arrives. For that window an allowed request may be counted twice (estimate and usage): the
 * error is on the safe side.
 */
final class LocalPending {
    /** Per limit, the estimates allowed in each of the last seconds: adding and summing cost the same at any rate. */
    private static final class Window {
        private final long[] seconds;
        private final BigDecimal[] sums;
        /** The sum of the seconds before {@code pastTo} in the last window asked for: they do not change, so a check adds one sum, not one per second. */
        private long pastTo = Long.MIN_VALUE;
        private long pastFrom;
        private BigDecimal past = BigDecimal.ZERO;

        Window(int size) {
            seconds = new long[size];
            sums = new BigDecimal[size];
            java.util.Arrays.fill(sums, BigDecimal.ZERO);
        }

        synchronized void add(long second, BigDecimal amount) {
            int i = (int) Math.floorMod(second, (long) seconds.length);
            if (seconds[i] != second) {
                seconds[i] = second;
                sums[i] = BigDecimal.ZERO;
            }
            sums[i] = sums[i].add(amount);
            if (second < pastTo) {
                pastTo = Long.MIN_VALUE; // a second already summed changed (a clock read a moment earlier)
            }
        }

        synchronized BigDecimal sum(long fromSecond, long toSecond) {
            if (pastTo != toSecond || pastFrom != fromSecond) {
                past = BigDecimal.ZERO;
                for (int i = 0; i < seconds.length; i++) {
                    if (seconds[i] >= fromSecond && seconds[i] < toSecond && sums[i].signum() != 0) {
                        past = past.add(sums[i]);
                    }
                }
                pastTo = toSecond;
                pastFrom = fromSecond;
            }
            int now = (int) Math.floorMod(toSecond, (long) seconds.length);
            return seconds[now] == toSecond && sums[now].signum() != 0 ? (past.signum() == 0 ? sums[now] : past.add(sums[now])) : past;
        }
    }

    /**
     * The windows of the limits with estimates in the last {@code pendingFor}. A window nobody added to or read for longer sums to
     * zero, so it is dropped: memory follows the limits in use, not every customer, limit and period ever checked (a period
     * that ends leaves its window behind, and a caller may name any customer). Past {@value #MAX_WINDOWS} windows the least
     * recently used go first, their estimates with them.
     */
    private final Cache<String, Window> entries;
    static final int MAX_WINDOWS = 1_000_000;
    private final Duration pendingFor;

    LocalPending(Duration pendingFor) {
        this(pendingFor, Ticker.systemTicker());
    }

    /** @param ticker the clock idle windows expire by (tests move it by hand) */
    LocalPending(Duration pendingFor, Ticker ticker) {
        this.pendingFor = pendingFor;
        this.entries = Caffeine.newBuilder().expireAfterAccess(pendingFor.plusSeconds(1)).maximumSize(MAX_WINDOWS).ticker(ticker)
                .executor(Runnable::run).build();
    }

    /** Windows held now (after pending evictions); for tests. */
    long size() {
        entries.cleanUp();
        return entries.estimatedSize();
    }

    /** Where the running total of a customer's limit in a period is kept (its key). */
    interface Keys {
        String of(String customer, String limitId, Instant periodStart);
    }

    /**
     * Counts an allowed request's estimate against each limit it matches, in its current period. With {@code reserved} (the request
     * holds a reservation at the aggregator that owns the customer) not against its strict caps: the owner counts that hold
     * exactly until the usage settles it, and counting it here too refused requests the cap had room for (a $1.00 strict cap
     * with $0.30 used after three $0.30 holds were settled by $0.10 of usage each refused $0.70 for 10 s as "$1.20 used").
     */
    void add(CheckRequest request, Account account, String model, Instant now, Keys keys, io.capstream.policy.limit.CurrentPeriods periods,
             boolean reserved) {
        if (pendingFor.isZero()) {
            return;
        }
        BigDecimal cost = request.estimatedCost().orElse(null);
        if (cost == null) {
            try {
                cost = Pricing.cost(account.policy(), model, request.estimate());
            } catch (UnpriceableUsageException e) {
                cost = BigDecimal.ZERO;
            }
        }
        Customer customer = account.customer();
        for (Limit limit : account.limits()) {
            if (limit.matches(request.feature(), model, request.user(), request.apiKey()) && !(reserved && limit.strict())) {
                Period period = periods.of(limit, customer, now);
                record(keys.of(customer.id(), limit.limitId(), period.start()), limit.estimated(cost, request.estimate()), now);
            }
        }
    }

    BigDecimal sum(String key, Instant now) {
        if (pendingFor.isZero()) {
            return BigDecimal.ZERO;
        }
        Window window = entries.getIfPresent(key);
        if (window == null) {
            return BigDecimal.ZERO;
        }
        long second = now.getEpochSecond();
        return window.sum(second - pendingFor.toSeconds() + 1, second);
    }

    private void record(String key, BigDecimal amount, Instant now) {
        if (amount.signum() > 0) {
            long second = now.getEpochSecond();
            // added inside the map's compute: a window is never dropped between being found and being added to
            entries.asMap().compute(key, (k, w) -> {
                Window window = w != null ? w : new Window((int) Math.max(1, pendingFor.toSeconds()));
                window.add(second, amount);
                return window;
            });
        }
    }

}

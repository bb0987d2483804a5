package io.capstream.runtime;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import io.github.bucket4j.Bucket;
import io.github.bucket4j.ConsumptionProbe;
import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.Optional;

/**
 * At most {@code perSecond} operations of one kind a second per customer on one instance, in bursts of
 * {@link #BURST_SECONDS} seconds' worth, with Bucket4j token buckets: whatever one customer's key does more of than that
 * would take from the other customers. Five kinds are limited (docs/api.md, "Limits"):
 *
 * <ul>
 *   <li><b>Events</b> (ingest): the customer's events are booked on the stream thread of its partition, which the other
 *   customers of that partition share; a batch is taken whole or refused whole. The default (10,000 a second per ingest
 *   instance) is a generous ceiling against a runaway reporter, not a quota. A key of one customer is
 *   {@linkplain #refuseIfEmpty refused unparsed} while its bucket is in debt, and {@linkplain #charge charged} for every
 *   event it sent, valid or not.</li>
 *   <li><b>Amendments</b> (voids and replacements, ingest), at a far lower rate than events: the aggregator reads the version an amendment takes
 *   back from usage-events, a broker fetch on the stream thread of the customer's partition that costs about ten times an
 *   event's CPU and 1.3–1.5 ms of that thread's time (docs/performance.md, "What an amendment costs"). Corrections are rare;
 *   at the default 50 a second a customer takes at most about 8 % of its partition's thread per ingest instance, and
 *   {@code ./capstream backfill --replace} waits out the {@code Retry-After} of a refusal.</li>
 *   <li><b>Cap changes</b> by the customer's own key or portal token (ingest's control API): each is a transaction on the
 *   customers partition, whose one writer the other customers of that partition wait for.</li>
 *   <li><b>Usage series reads</b> by the customer's own key or portal token (the query API, counted at the instance that owns
 *   the customer): one can read up to 50,000 stored buckets, on the cores the stream threads use, so a read that read
 *   more is {@linkplain #charge charged} as more reads.</li>
 *   <li><b>Other reads</b> by the customer's own key or portal token (usage, decisions, history; counted at the owner): a
 *   usage read costs about a millisecond of the cores the stream threads use. Its reads of its configuration
 *   ({@code GET /v1/customers/{id}}) are limited at the same rate by ingest's control API, per instance.</li>
 * </ul>
 *
 * <p>A bucket idle for {@link #idle} has refilled completely, so it is dropped then and made full again on the next
 * operation: memory follows the customers active now.
 */
public final class CustomerRateLimiter {
    public static final int BURST_SECONDS = 10;
    private final long perSecond;
    private final Duration idle;
    private final TimeMeter time;
    private final Cache<String, Bucket> buckets;

    /** @param perSecond 0 for no limit */
    public CustomerRateLimiter(long perSecond) {
        this(perSecond, TimeMeter.SYSTEM_NANOTIME);
    }

    /** @param time the clock buckets refill and expire by (tests move it by hand) */
    public CustomerRateLimiter(long perSecond, TimeMeter time) {
        this.perSecond = perSecond;
        this.idle = Duration.ofSeconds(BURST_SECONDS + 1);
        this.time = time;
        this.buckets = Caffeine.newBuilder().expireAfterAccess(idle).maximumSize(1_000_000).ticker(time::currentTimeNanos)
                .executor(Runnable::run).build();
    }

    /** Takes one amendment of {@code customer} from its bucket; how long to wait instead when the bucket is empty. */
    public Optional<Duration> take(String customer) {
        if (perSecond == 0) {
            return Optional.empty();
        }
        ConsumptionProbe probe = bucket(customer).tryConsumeAndReturnRemaining(1);
        return probe.isConsumed() ? Optional.empty() : Optional.of(Duration.ofNanos(probe.getNanosToWaitForRefill()));
    }

    /**
     * Takes {@code operations} more of {@code customer}'s operations after the fact, even beyond what its bucket holds: for an
     * operation whose cost is known only once it is done (a series read that read many buckets). A bucket in debt refuses the
     * customer's next operations until it has refilled.
     */
    public void charge(String customer, long operations) {
        if (perSecond != 0 && operations > 0) {
            bucket(customer).consumeIgnoringRateLimits(operations);
        }
    }

    private Bucket bucket(String customer) {
        return buckets.get(customer, c -> Bucket.builder().withCustomTimePrecision(time)
                .addLimit(limit -> limit.capacity(burst()).refillGreedy(perSecond, Duration.ofSeconds(1)))
                .build());
    }

    /**
     * Takes one operation of {@code customer}, or refuses it: 429 {@code code} with {@code Retry-After} and the message
     * "customer '…' may {@code what} (bursts of … seconds' worth); retry in … s{@code outcome}".
     *
     * @param what    what the customer may do, with the rate, e.g. "change its caps at most 5 times a second"
     * @param outcome what the refusal left as it was, e.g. "; nothing was changed" (or "")
     */
    public void takeOrRefuse(String customer, String code, String what, String outcome) {
        Optional<Duration> wait = take(customer);
        if (wait.isPresent()) {
            throw refusal(customer, wait.get(), code, what, outcome);
        }
    }

    /**
     * Refuses, as {@link #takeOrRefuse(String, String, String, String)} does, when {@code customer}'s bucket is empty (or in
     * debt), taking nothing: for a request whose cost is known only once it is parsed, refused before it is, and
     * {@linkplain #charge charged} after.
     */
    public void refuseIfEmpty(String customer, String code, String what, String outcome) {
        if (perSecond != 0) {
            io.github.bucket4j.EstimationProbe probe = bucket(customer).estimateAbilityToConsume(1);
            if (!probe.canBeConsumed()) {
                throw refusal(customer, Duration.ofNanos(probe.getNanosToWaitForRefill()), code, what, outcome);
            }
        }
    }

    /**
     * Takes the operations of a request, one per element naming its customer (a batch of events: each event's customer),
     * all or none (a request is stored whole or not at all): when one customer's bucket holds too few, what was taken from
     * the others is given back, and the request is refused as {@link #takeOrRefuse(String, String, String, String)} refuses,
     * naming that customer.
     */
    public void takeOrRefuse(java.util.Collection<String> operations, String code, String what, String outcome) {
        if (perSecond == 0) {
            return;
        }
        java.util.Map<String, Long> perCustomer = new java.util.LinkedHashMap<>();
        for (String customer : operations) {
            perCustomer.merge(customer, 1L, Long::sum);
        }
        java.util.List<java.util.Map.Entry<String, Long>> taken = new java.util.ArrayList<>();
        for (java.util.Map.Entry<String, Long> o : perCustomer.entrySet()) {
            ConsumptionProbe probe = bucket(o.getKey()).tryConsumeAndReturnRemaining(o.getValue());
            if (!probe.isConsumed()) {
                taken.forEach(t -> bucket(t.getKey()).addTokens(t.getValue()));
                throw refusal(o.getKey(), Duration.ofNanos(probe.getNanosToWaitForRefill()), code, what, outcome);
            }
            taken.add(o);
        }
    }

    private static ApiException refusal(String customer, Duration wait, String code, String what, String outcome) {
        long seconds = Math.max(1, (wait.toMillis() + 999) / 1000);
        return new ApiException(429, code, "customer '" + customer + "' may " + what + " (bursts of " + BURST_SECONDS
                + " seconds' worth); retry in " + seconds + " s" + outcome, java.util.Map.of(), java.util.Map.of("Retry-After", Long.toString(seconds)));
    }

    /** The most operations one customer's full bucket holds: a request needing more is never taken. */
    private long burst() {
        return perSecond * BURST_SECONDS;
    }

    /** Buckets held now (after pending evictions). */
    long size() {
        buckets.cleanUp();
        return buckets.estimatedSize();
    }

    public long perSecond() {
        return perSecond;
    }
}

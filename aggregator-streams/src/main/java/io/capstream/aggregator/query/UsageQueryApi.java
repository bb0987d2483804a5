package io.capstream.aggregator.query;

import io.capstream.schemas.topics.UsageKey;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.CustomerRateLimiter;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.schemas.LimitUsage;
import io.capstream.aggregator.topology.UsageTopology;
import io.capstream.policy.booking.Series;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.input.Problem;
import io.capstream.policy.limit.Period;
import io.capstream.policy.limit.ResetSchedule;
import java.time.Instant;
import java.time.LocalDate;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.time.Clock;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;

/**
 * {@code GET /v1/customers/{id}/usage}: the customer's usage report, read from the instance that
 * owns the customer's partition ({@link OwnerRouter}).
 */
public final class UsageQueryApi {
    private final OwnerRouter router;
    private final ApiKeys keys;
    private final Clock clock;
    private final UsageTopology.SeriesRetention retention;
    /**
     * A customer's own series reads (its key or portal token; admins are not limited), counted where they are served, at the
     * instance that owns the customer: one read can list a thousand buckets of up to 201 combinations each, so a read is
     * charged by the stored buckets it read ({@link #STORED_BUCKETS_PER_READ}).
     */
    private final CustomerRateLimiter seriesReads = new CustomerRateLimiter(SERIES_READS_PER_SECOND);
    static final long SERIES_READS_PER_SECOND = 2;
    /**
     * A customer's own reads of its usage, decisions and history (its key or portal token; admins are not limited), counted at
     * the instance that owns the customer: a usage read costs about a millisecond of the cores the stream threads use, so a
     * key reading back to back took more than a core from every customer's booking (docs/performance.md).
     */
    private final CustomerRateLimiter reads = new CustomerRateLimiter(READS_PER_SECOND);
    static final long READS_PER_SECOND = 10;
    /** The stored buckets a limited series read reads for its one read; each further this many is charged as one more read. */
    static final long STORED_BUCKETS_PER_READ = 5_000;

    public UsageQueryApi(Supplier<KafkaStreams> streams, Supplier<HostInfo> self, ApiKeys keys, Clock clock,
                         UsageTopology.SeriesRetention retention) {
        this.router = new OwnerRouter(streams, self, retention.enabled());
        this.keys = keys;
        this.clock = clock;
        this.retention = retention;
    }

    public void routes(JavalinConfig config) {
        config.routes.get("/v1/customers/{id}/usage", this::usage);
        config.routes.get("/v1/customers/{id}/usage/series", this::series);
        config.routes.get("/v1/customers/{id}/decisions", this::decisions);
        config.routes.get("/v1/customers/{id}/history", this::history);
        // a store opened while this instance owned the partition can move away before it is read (a rebalance):
        // ask again shortly, as while rebalancing, never a 500 (found by AggregatorFailoverIT's rolling restart)
        config.routes.exception(org.apache.kafka.streams.errors.InvalidStateStoreException.class, (e, ctx) ->
                HttpServer.writeError(ctx, OwnerRouter.rebalancing()));
    }

    OwnerRouter router() {
        return router;
    }

    /** Who reads which customer: the path's customer, and whether the key is an admin's (whose reads are not limited). */
    private record Reader(String customer, boolean admin) {}

    /** The customer of the path, when the request's key may read it. */
    private Reader reader(Context ctx) {
        String customer = ctx.pathParam("id");
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.canRead(customer)) {
            throw ApiException.forbidden("this API key may not read customer '" + customer + "'");
        }
        return new Reader(customer, principal.isAdmin());
    }

    /** Takes one read of a customer's own key or portal token from the customer's bucket, or refuses it (429 with Retry-After). */
    private void read(Reader reader) {
        if (!reader.admin()) {
            reads.takeOrRefuse(reader.customer(), "reads_rate_limited", "read its usage, decisions and history at most " + READS_PER_SECOND
                    + " times a second", "");
        }
    }

    private void usage(Context ctx) {
        Reader reader = reader(ctx);
        String customer = reader.customer();
        router.localOrForward(ctx, customer).ifPresent(partition -> {
            read(reader);
            Map<String, LimitUsage> entries = new HashMap<>();
            try (KeyValueIterator<String, LimitUsage> it = partition.limits().prefixScan(UsageKey.customerPrefix(customer),
                    Serdes.String().serializer())) {
                while (it.hasNext()) {
                    KeyValue<String, LimitUsage> entry = it.next();
                    entries.put(entry.key, entry.value);
                }
            }
            HttpServer.json(ctx, 200, UsageReport.build(partition.customer(customer), partition.policy(), entries, partition.breakers(customer),
                    clock.instant(), false));
        });
    }

    /**
     * {@code GET /v1/customers/{id}/usage/series?from=&to=&granularity=hour|day&group_by=feature|model|api_key|user}:
     * buckets in the customer's timezone ({@link SeriesReport}); {@code Accept: text/csv} gives CSV.
     * {@code from} and {@code to} are RFC 3339 times or dates (a date is the customer's local midnight);
     * by default the current billing period up to the end of the current bucket.
     */
    private void series(Context ctx) {
        Reader reader = reader(ctx);
        String customer = reader.customer();
        if (!retention.enabled()) {
            throw new ApiException(501, "series_disabled", "this deployment keeps no usage series (series.enabled=false); GET /v1/customers/"
                    + customer + "/usage has the running totals");
        }
        List<Problem> problems = new ArrayList<>();
        Series.Granularity granularity = Series.Granularity.DAY;
        String g = ctx.queryParam("granularity");
        if (g != null) {
            try {
                granularity = Series.Granularity.parse(g);
            } catch (IllegalArgumentException e) {
                problems.add(new Problem("granularity", e.getMessage()));
            }
        }
        String groupBy = ctx.queryParam("group_by");
        if (groupBy != null && !Series.DIMENSIONS.contains(groupBy)) {
            problems.add(new Problem("group_by", "one of " + Series.DIMENSIONS));
        }
        String fromText = ctx.queryParam("from");
        String toText = ctx.queryParam("to");
        for (String[] t : new String[][] {{"from", fromText}, {"to", toText}}) {
            if (t[1] != null && time(t[1], ZoneId.of("UTC")) == null) {
                problems.add(new Problem(t[0], "an RFC 3339 time (2026-11-01T00:00:00Z) or a date (2026-11-01, the customer's local midnight)"));
            }
        }
        if (!problems.isEmpty()) {
            throw ApiException.invalidQuery(problems);
        }
        Series.Granularity gran = granularity;
        router.localOrForward(ctx, customer).ifPresent(partition -> {
            boolean limited = !reader.admin();
            if (limited) {
                seriesReads.takeOrRefuse(customer, "series_rate_limited", "read its usage series at most " + SERIES_READS_PER_SECOND
                        + " times a second, a read of more than " + STORED_BUCKETS_PER_READ + " stored buckets counting as one more read for each "
                        + STORED_BUCKETS_PER_READ, "");
            }
            Customer c = partition.customer(customer);
            ZoneId zone = c.timezone();
            Instant now = clock.instant();
            Instant asked = fromText != null ? time(fromText, zone)
                    : new ResetSchedule.Monthly(c.billingAnchorDay()).periodAt(now, zone).start();
            // nothing older than the retention is listed (the stores drop it, and a cache may still hold some of it for a while)
            Instant kept = gran.bucketAt(now.minus(gran == Series.Granularity.HOUR ? retention.hourly() : retention.daily()), zone).end();
            Instant from = asked.isBefore(kept) ? kept : asked;
            Instant to = toText != null ? time(toText, zone) : gran.bucketAt(now, zone).end();
            if (!to.isAfter(from)) {
                throw ApiException.invalidQuery(List.of(new Problem("to", "must be after from (" + from + ")")));
            }
            // bounded before anything is read: one bucket more than the most is listed, and no more
            List<Period> buckets = Series.buckets(from, to, zone, gran, SeriesReport.MAX_BUCKETS + 1);
            if (buckets.size() > SeriesReport.MAX_BUCKETS) {
                throw ApiException.invalidQuery(List.of(new Problem("to", "at most " + SeriesReport.MAX_BUCKETS + " " + gran.text()
                        + "s from from; ask for a shorter span" + (gran == Series.Granularity.HOUR ? " or granularity=day" : ""))));
            }
            List<SeriesReport.Fold> folds = new ArrayList<>(1);
            SeriesReport report;
            try {
                report = partition.series(gran, customer, from, to, () -> {
                    SeriesReport.Fold fold = new SeriesReport.Fold(zone, gran, groupBy, buckets, SeriesReport.MAX_STORED_READ);
                    folds.add(fold);
                    return fold;
                }).report(customer, from, to, now);
            } finally { // what was read is charged, refused or not
                if (limited) {
                    seriesReads.charge(customer, folds.stream().mapToLong(SeriesReport.Fold::read).sum() / STORED_BUCKETS_PER_READ);
                }
            }
            String accept = ctx.header("Accept");
            if (accept != null && accept.contains("text/csv")) {
                ctx.status(200).contentType("text/csv; charset=utf-8").header("Content-Disposition",
                        "attachment; filename=\"usage-" + customer + "-" + gran.text() + ".csv\"").result(report.csv());
            } else {
                HttpServer.json(ctx, 200, report);
            }
        });
    }

    /** An RFC 3339 time, or a date as the start of that day in {@code zone}; null if it is neither. */
    private static Instant time(String text, ZoneId zone) {
        if (text.length() > 40) {
            return null;
        }
        try {
            return text.length() == 10 ? LocalDate.parse(text).atStartOfDay(zone).toInstant() : OffsetDateTime.parse(text).toInstant();
        } catch (DateTimeParseException e) {
            return null;
        }
    }

    /** One change of the customer through the control API; {@code before} and {@code after} as {@code GET /v1/customers/{id}} showed them. */
    public record ChangeView(Instant at, String actor, String requestId, String action, String target, com.fasterxml.jackson.databind.JsonNode before,
                             com.fasterxml.jackson.databind.JsonNode after) {}

    /** Entries one request lists at most, and reads at most (a customer's key sees its caps' changes among them). */
    static final int MAX_HISTORY = 500;
    static final int MAX_SCANNED = 10_000;

    /**
     * {@code GET /v1/customers/{id}/history?limit=}: the customer's changes through the control API, newest first (admin: every
     * change; the customer's own key: the changes of its caps).
     */
    private void history(Context ctx) {
        Reader reader = reader(ctx);
        String customer = reader.customer();
        boolean admin = reader.admin();
        int limit = 100;
        String l = ctx.queryParam("limit");
        if (l != null) {
            try {
                limit = Integer.parseInt(l);
            } catch (NumberFormatException e) {
                limit = -1;
            }
            if (limit < 1 || limit > MAX_HISTORY) {
                throw ApiException.invalidQuery(List.of(new Problem("limit", "a whole number from 1 to " + MAX_HISTORY)));
            }
        }
        int most = limit;
        router.localOrForward(ctx, customer).ifPresent(partition -> {
            read(reader);
            List<ChangeView> views = new ArrayList<>();
            for (io.capstream.schemas.AuditEntry e : io.capstream.aggregator.topology.AuditHistoryProcessor.history(partition.audit(), customer,
                    most, MAX_SCANNED, x -> admin || x.getAction().startsWith("cap."))) {
                views.add(new ChangeView(e.getAt(), e.getActor(), e.getRequestId(), e.getAction(), e.getTarget(), json(e.getBefore()),
                        json(e.getAfter())));
            }
            HttpServer.json(ctx, 200, Map.of("customer", customer, "changes", views));
        });
    }

    private static com.fasterxml.jackson.databind.JsonNode json(String text) {
        if (text == null) {
            return null;
        }
        try {
            return io.capstream.runtime.Json.MAPPER.readTree(text);
        } catch (java.io.IOException e) {
            return com.fasterxml.jackson.databind.node.TextNode.valueOf(text); // the policy's YAML
        }
    }

    /** One refused or downgraded request, as answered. */
    public record DecisionView(Instant at, String decision, String code, int status, String feature, String model, String modelUsed,
                               String apiKey, String user, String limitId, String message, int represents) {}

    /** {@code GET /v1/customers/{id}/decisions}: the customer's last refused and downgraded requests, newest first. */
    private void decisions(Context ctx) {
        Reader reader = reader(ctx);
        String customer = reader.customer();
        router.localOrForward(ctx, customer).ifPresent(partition -> {
            read(reader);
            io.capstream.schemas.RecentDecisions recent = partition.decisions().get(customer);
            List<DecisionView> views = new ArrayList<>();
            if (recent != null) {
                recent.getDecisions().forEach(d -> views.add(new DecisionView(d.getAt(), d.getDecision(), d.getCode(), d.getStatus(), d.getFeature(),
                        d.getModel(), d.getModelUsed(), d.getApiKey(), d.getUser(), d.getLimitId(), d.getMessage(), d.getRepresents())));
            }
            HttpServer.json(ctx, 200, Map.of("customer", customer, "decisions", views));
        });
    }
}

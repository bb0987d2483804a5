package io.capstream.aggregator.query;

import io.capstream.policy.booking.Series.Granularity;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.Period;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageBucket;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Consumer;
import io.capstream.runtime.ApiException;
import io.capstream.policy.input.Problem;
import io.capstream.aggregator.topology.SeriesBook;

/**
 * What {@code GET /v1/customers/{id}/usage/series} answers: the customer's usage per local hour or day
 * in [from, to), every bucket listed (empty ones too), each split into groups by one dimension when
 * asked, with the cost's accounting split and quantities per meter; and the total of the span, which is
 * the sum of the buckets. DTOs only, money as decimal strings.
 */
public record SeriesReport(String customer, String timezone, String granularity, String groupBy, OffsetDateTime from, OffsetDateTime to,
                           List<BucketView> buckets, Sum total, Instant asOf) {

    public record BucketView(OffsetDateTime start, OffsetDateTime end, Sum total, List<GroupView> groups) {}

    public record GroupView(String group, Sum usage) {}

    /** Exact sums; {@code quantities} by meter. */
    public record Sum(String cost, String included, String grantCovered, String billed, long events, Map<String, String> quantities) {}

    /** The most buckets one request may ask for (40 days of hours, or 2,000 days). */
    static final int MAX_BUCKETS = 1_000;

    /**
     * The most stored buckets one request may read (each hour or day of a customer keeps one per combination of feature, model,
     * API key and user, up to 201), so about ten days of hours of a customer with a hundred users an hour: a read of that many
     * costs 0.1–0.3 s of CPU (docs/performance.md, "The worst series read").
     */
    public static final long MAX_STORED_READ = 50_000;

    /** A running sum of buckets. */
    private static final class Adder {
        BigDecimal cost = BigDecimal.ZERO, included = BigDecimal.ZERO, grantCovered = BigDecimal.ZERO, billed = BigDecimal.ZERO;
        long events;
        final Map<String, BigDecimal> quantities = new TreeMap<>();

        void add(UsageBucket b) {
            cost = cost.add(b.getCost());
            included = included.add(b.getIncluded());
            grantCovered = grantCovered.add(b.getGrantCovered());
            billed = billed.add(b.getBilled());
            events += b.getEvents();
            for (Quantity q : b.getQuantities()) {
                quantities.merge(q.getMeter(), q.getQuantity(), BigDecimal::add);
            }
        }

        void add(Adder other) {
            cost = cost.add(other.cost);
            included = included.add(other.included);
            grantCovered = grantCovered.add(other.grantCovered);
            billed = billed.add(other.billed);
            events += other.events;
            other.quantities.forEach((meter, q) -> quantities.merge(meter, q, BigDecimal::add));
        }

        Sum sum() {
            Map<String, String> qs = new LinkedHashMap<>();
            quantities.forEach((meter, q) -> qs.put(meter, Decimals.formatQuantity(q)));
            return new Sum(Decimals.formatMoney(cost), Decimals.formatMoney(included), Decimals.formatMoney(grantCovered),
                    Decimals.formatMoney(billed), events, qs);
        }
    }

    /**
     * @param periods the buckets of the span ({@link io.capstream.policy.booking.Series#buckets})
     * @param stored  the customer's stored buckets of the span ({@code SeriesBook.read})
     * @param groupBy {@code feature}, {@code model}, {@code api_key}, {@code user}, or null for no groups
     */
    static SeriesReport build(String customer, ZoneId zone, Granularity granularity, String groupBy, Instant from, Instant to,
                              List<Period> periods, List<SeriesBook.Stored> stored, Instant asOf) {
        Fold fold = new Fold(zone, granularity, groupBy, periods, Integer.MAX_VALUE);
        stored.forEach(fold);
        return fold.report(customer, from, to, asOf);
    }

    /**
     * The stored buckets of a span summed as they are read, into one sum per bucket and group: what a read holds is the
     * answer, not what it read. Reads at most {@code maxRead} stored buckets; one more is refused (400 naming {@code to}),
     * so a span's cost is bounded before its answer is built.
     */
    static final class Fold implements Consumer<SeriesBook.Stored> {
        private final ZoneId zone;
        private final Granularity granularity;
        private final String groupBy;
        private final List<Period> periods;
        private final long maxRead;
        private final Map<Instant, Adder> totals = new LinkedHashMap<>();
        private final Map<Instant, Map<String, Adder>> groups = new LinkedHashMap<>();
        private long read;

        Fold(ZoneId zone, Granularity granularity, String groupBy, List<Period> periods, long maxRead) {
            this.zone = zone;
            this.granularity = granularity;
            this.groupBy = groupBy;
            this.periods = periods;
            this.maxRead = maxRead;
            periods.forEach(p -> {
                totals.put(p.start(), new Adder());
                groups.put(p.start(), new TreeMap<>());
            });
        }

        @Override
        public void accept(SeriesBook.Stored kv) {
            if (++read > maxRead) {
                throw ApiException.invalidQuery(List.of(new Problem("to", "this span holds more than " + maxRead + " stored buckets (each "
                        + granularity.text() + " keeps one per combination of feature, model, API key and user it saw); ask for a shorter span")));
            }
            Instant start = kv.bucket().start();
            Adder bucket = totals.get(start);
            if (bucket == null) {
                // a bucket cut in the customer's former timezone: counted in the bucket of the current one that holds its start
                Period holding = granularity.bucketAt(start, zone);
                bucket = totals.get(holding.start());
                start = holding.start();
                if (bucket == null) {
                    return;
                }
            }
            bucket.add(kv.usage());
            if (groupBy != null) {
                String group = kv.combination().get(groupBy);
                groups.get(start).computeIfAbsent(group.isEmpty() ? "(none)" : group, g -> new Adder()).add(kv.usage());
            }
        }

        /** Stored buckets read so far (a fold made again after a rollup moved counts its own). */
        long read() {
            return read;
        }

        SeriesReport report(String customer, Instant from, Instant to, Instant asOf) {
            List<BucketView> buckets = new ArrayList<>(periods.size());
            Adder all = new Adder(); // the sum of the buckets
            for (Period p : periods) {
                all.add(totals.get(p.start()));
                List<GroupView> g = new ArrayList<>();
                groups.get(p.start()).forEach((name, adder) -> g.add(new GroupView(name, adder.sum())));
                buckets.add(new BucketView(at(p.start(), zone), at(p.end(), zone), totals.get(p.start()).sum(), g));
            }
            return new SeriesReport(customer, zone.getId(), granularity.text(), groupBy, at(from, zone), at(to, zone), buckets, all.sum(), asOf);
        }
    }

    private static OffsetDateTime at(Instant t, ZoneId zone) {
        return t.atZone(zone).toOffsetDateTime();
    }

    /** The report as CSV: a header, then one line per bucket and group (or per bucket without groups). */
    String csv() {
        StringBuilder out = new StringBuilder("bucket_start,bucket_end,").append(groupBy == null ? "group" : groupBy)
                .append(",cost,included,grant_covered,billed,events\n");
        for (BucketView b : buckets) {
            if (groupBy == null || b.groups().isEmpty()) {
                line(out, b, "", b.total());
            } else {
                for (GroupView g : b.groups()) {
                    line(out, b, g.group(), g.usage());
                }
            }
        }
        return out.toString();
    }

    /** Always with seconds, as RFC 3339 wants ({@code OffsetDateTime.toString} drops zero seconds). */
    private static final java.time.format.DateTimeFormatter RFC_3339 = java.time.format.DateTimeFormatter.ISO_OFFSET_DATE_TIME;

    /**
     * A group as a CSV cell: an API key or a user is free text. Quoted (RFC 4180) when it holds a comma, a quote or a line break,
     * and text that a spreadsheet would run as a formula (first character {@code = + - @}, a tab or a carriage return) starts
     * with {@code '} (OWASP, "CSV injection"). Identifiers, "(other)" and "(none)" are themselves.
     */
    static String cell(String text) {
        String t = !text.isEmpty() && "=+-@\t\r".indexOf(text.charAt(0)) >= 0 ? "'" + text : text;
        if (t.indexOf(',') >= 0 || t.indexOf('"') >= 0 || t.indexOf('\n') >= 0 || t.indexOf('\r') >= 0) {
            return '"' + t.replace("\"", "\"\"") + '"';
        }
        return t;
    }

    private static void line(StringBuilder out, BucketView b, String group, Sum s) {
        out.append(RFC_3339.format(b.start())).append(',').append(RFC_3339.format(b.end())).append(',').append(cell(group)).append(',').append(s.cost()).append(',')
                .append(s.included()).append(',').append(s.grantCovered()).append(',').append(s.billed()).append(',').append(s.events()).append('\n');
    }
}

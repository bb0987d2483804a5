package io.capstream.bench;

import io.capstream.aggregator.AggregatorConfig;
import io.capstream.aggregator.AggregatorService;
import io.capstream.aggregator.query.SeriesReport;
import io.capstream.policy.booking.Series;
import io.capstream.runtime.ApiKeys;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.ApicurioRegistry;
import io.capstream.testkit.KafkaCluster;
import java.lang.management.ManagementFactory;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.ByteArraySerializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.apache.kafka.streams.KafkaStreams;

/**
 * What the worst usage-series read a customer can ask for costs the aggregator (docs/performance.md, "The worst series
 * read"). One customer fills every hour of the hourly retention (35 days) with the most combinations a bucket keeps
 * ({@link Series#MAX_COMBINATIONS} users, then as many features with their key and user folded, then the rest: 201),
 * sent straight to usage-events with the record timestamps ingest would have given them; then the query API (a real
 * aggregator on a real broker and registry) answers the series of the whole retention, hourly and daily, with and without
 * {@code group_by}, as JSON and CSV, and the longest span under the bound of stored buckets a read may read. For each: the
 * answer's status and size, the CPU of the whole process (the stream thread idle by then) and the bytes allocated by all
 * threads per request, and the wall time, with an admin key (never rate-limited). Then that longest read again and again
 * for 20 s, waiting out each {@code Retry-After}, with the customer's own key and with an admin's: the cores one customer
 * can take. Then the customer's other reads ({@code /usage}, {@code /decisions}, {@code /history}) once each, and
 * {@code /usage} with its own key back to back for 20 s, waiting out {@code Retry-After} and not, next to an unknown key's
 * (401) as the baseline.
 * Usage: {@code SeriesReadBenchmark [hours] [repeats]} (defaults 840 and 5).
 */
public final class SeriesReadBenchmark {
    private static final String CUSTOMER = "cus_worst";

    private SeriesReadBenchmark() {}

    public static void main(String[] args) throws Exception {
        int hours = args.length > 0 ? Integer.parseInt(args[0]) : 840;
        int repeats = args.length > 1 ? Integer.parseInt(args[1]) : 5;
        Path work = Files.createTempDirectory("capstream-series-read");
        try (KafkaCluster kafka = KafkaCluster.start(); ApicurioRegistry registry = ApicurioRegistry.start(work.resolve("registry.log"))) {
            Topics topics = new Topics("series.");
            // usage-events keeps the fill's records (timestamps up to 35 days old) until the aggregator has read them
            kafka.createTopics(topics.specs(Duration.ofDays(40)).stream().map(s -> s.toNewTopic((short) 1)).toList());
            SchemaRegistryClient client = new SchemaRegistryClient(registry.url());
            try (PolicyPublisher publisher = new PolicyPublisher(Map.of("bootstrap.servers", kafka.bootstrapServers()), client, true, topics)) {
                publisher.publish(CheckBenchmark.POLICY, Instant.now());
            }
            Path keys = work.resolve("keys.txt");
            Files.writeString(keys, "bench sha256:" + ApiKeys.hash("bench-key") + " admin\n"
                    + "worst sha256:" + ApiKeys.hash("worst-key") + " customer:" + CUSTOMER + "\n");
            Map<String, String> config = BenchServices.aggregator(BenchServices.common(kafka, registry, topics, keys), work, "series-aggregator");
            try (AggregatorService aggregator = new AggregatorService(AggregatorConfig.from(config), Clock.systemUTC())) {
                while (aggregator.streams().state() != KafkaStreams.State.RUNNING) {
                    Thread.sleep(50);
                }
                long sent = fill(kafka, client, topics, hours);
                waitForBooking(aggregator, hours);
                System.out.printf(Locale.ROOT, "%nOne customer, %d hours of %d combinations each (%,d events), %d cores%n",
                        hours, 2 * Series.MAX_COMBINATIONS + 1, sent, Runtime.getRuntime().availableProcessors());
                HttpClient http = HttpClient.newHttpClient();
                // the whole retention, then the longest span under the bound of stored buckets a read may read
                int largest = (int) Math.min(hours, SeriesReport.MAX_STORED_READ / (2 * Series.MAX_COMBINATIONS + 1));
                for (int span : new int[] {hours, largest}) {
                    String base = "http://127.0.0.1:" + aggregator.port() + "/v1/customers/" + CUSTOMER + "/usage/series?from="
                            + Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(span));
                    for (String query : List.of("&granularity=hour", "&granularity=hour&group_by=feature", "&granularity=hour&group_by=user",
                            "&granularity=day&group_by=feature")) {
                        for (String accept : List.of("application/json", "text/csv")) {
                            measure(http, "series read of " + span + " hours, " + query.substring(1), base + query, accept, repeats);
                        }
                    }
                }
                // the customer's other reads, at the bound of features with a total of their own
                String customerUrl = "http://127.0.0.1:" + aggregator.port() + "/v1/customers/" + CUSTOMER;
                for (String path : List.of("/usage", "/decisions", "/history")) {
                    measure(http, "GET " + path, customerUrl + path, "application/json", repeats);
                }
                // what one customer costs when it reads that span again and again, waiting out Retry-After, with its own key and an admin's
                String worst = "http://127.0.0.1:" + aggregator.port() + "/v1/customers/" + CUSTOMER + "/usage/series?granularity=hour&group_by=user&from="
                        + Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(largest));
                long idle0 = ThroughputBenchmark.processCpu();
                Thread.sleep(5_000);
                System.out.printf(Locale.ROOT, "idle for 5 s (the baseline of what follows): process %.2f cores%n", (ThroughputBenchmark.processCpu() - idle0) / 5e9);
                for (String key : List.of("worst-key", "bench-key")) {
                    sustained(http, "series reads of " + largest + " hours", worst, key, 20, true);
                }
                sustained(http, "GET /usage", customerUrl + "/usage", "bench-key", 20, true); // what a served read costs
                sustained(http, "GET /usage", customerUrl + "/usage", "worst-key", 20, true);
                sustained(http, "GET /usage", customerUrl + "/usage", "worst-key", 20, false); // a hostile client
                sustained(http, "GET /usage (baseline: unknown key, 401)", customerUrl + "/usage", "no-such-key", 20, false);
            }
        }
    }

    /** One request with an admin key {@code repeats} times after two unmeasured ones; prints the median of each figure. */
    private static void measure(HttpClient http, String what, String url, String accept, int repeats) throws Exception {
        com.sun.management.ThreadMXBean threads = (com.sun.management.ThreadMXBean) ManagementFactory.getThreadMXBean();
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer bench-key").header("Accept", accept).build();
        long[] cpu = new long[repeats];
        long[] wall = new long[repeats];
        long[] allocated = new long[repeats];
        int status = 0;
        long bytes = 0;
        String body = "";
        for (int i = -2; i < repeats; i++) {
            long cpu0 = ThroughputBenchmark.processCpu();
            long allocated0 = threads.getTotalThreadAllocatedBytes();
            long start = System.nanoTime();
            HttpResponse<byte[]> response = http.send(request, HttpResponse.BodyHandlers.ofByteArray());
            long took = System.nanoTime() - start;
            if (i >= 0) {
                cpu[i] = ThroughputBenchmark.processCpu() - cpu0;
                allocated[i] = threads.getTotalThreadAllocatedBytes() - allocated0;
                wall[i] = took;
            }
            status = response.statusCode();
            bytes = response.body().length;
            body = new String(response.body(), java.nio.charset.StandardCharsets.UTF_8);
        }
        // the span's events, the last count of a JSON answer (its total); the first line of a refusal
        java.util.regex.Matcher events = java.util.regex.Pattern.compile("\"events\":(\\d+)").matcher(body);
        String held = status != 200 ? body.substring(0, Math.min(body.length(), 300)) : "";
        while (events.find()) {
            held = events.group(1) + " events";
        }
        java.util.Arrays.sort(cpu);
        java.util.Arrays.sort(wall);
        java.util.Arrays.sort(allocated);
        System.out.printf(Locale.ROOT, "%s (%s): status %d, %,d bytes, process CPU %.2f ms, allocated %.2f MB, wall %.2f ms %s%n",
                what, accept, status, bytes, cpu[repeats / 2] / 1e6, allocated[repeats / 2] / 1e6, wall[repeats / 2] / 1e6, held);
    }

    /**
     * The same read again and again for {@code seconds}, one after another: waiting out each refusal's {@code Retry-After}
     * (a well-behaved client), or not (a hostile one, whose refusals are then most of what it costs): how many were answered,
     * and the process's CPU.
     */
    private static void sustained(HttpClient http, String what, String url, String key, int seconds, boolean obeyRetryAfter) throws Exception {
        HttpRequest request = HttpRequest.newBuilder(URI.create(url)).header("Authorization", "Bearer " + key).build();
        Map<Integer, Integer> statuses = new java.util.TreeMap<>();
        long cpu0 = ThroughputBenchmark.processCpu();
        long start = System.nanoTime();
        long end = start + Duration.ofSeconds(seconds).toNanos();
        while (System.nanoTime() < end) {
            HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
            statuses.merge(response.statusCode(), 1, Integer::sum);
            long wait = obeyRetryAfter ? response.headers().firstValueAsLong("Retry-After").orElse(0) * 1_000_000_000L : 0;
            Thread.sleep(Duration.ofNanos(Math.max(0, Math.min(wait, end - System.nanoTime()))));
        }
        double elapsed = (System.nanoTime() - start) / 1e9;
        System.out.printf(Locale.ROOT, "%s for %d s with %s key, one after another, %s: answers %s, process %.2f cores%n",
                what, seconds, key.startsWith("bench") ? "an admin" : key.startsWith("worst") ? "the customer's own" : "an unknown", obeyRetryAfter ? "waiting out Retry-After" : "not waiting", statuses,
                (ThroughputBenchmark.processCpu() - cpu0) / 1e9 / elapsed);
    }

    /**
     * Every hour of the last {@code hours}: {@link Series#MAX_COMBINATIONS} events of new users, then as many of new features
     * (their key and user fold into "(other)"), then one more (the whole combination folds): 201 combinations.
     */
    private static long fill(KafkaCluster kafka, SchemaRegistryClient client, Topics topics, int hours) {
        RegistryAvroSerde<UsageEvent> serde = RegistryAvroSerde.of(UsageEvent.class, client, true);
        Map<String, Object> props = Map.of(ProducerConfig.BOOTSTRAP_SERVERS_CONFIG, kafka.bootstrapServers(), ProducerConfig.LINGER_MS_CONFIG, 5,
                ProducerConfig.COMPRESSION_TYPE_CONFIG, "lz4");
        Instant first = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(hours)); // the last one is the hour before this
        long sent = 0;
        try (KafkaProducer<String, byte[]> producer = new KafkaProducer<>(props, new StringSerializer(), new ByteArraySerializer())) {
            for (int h = 0; h < hours; h++) {
                Instant hour = first.plus(Duration.ofHours(h));
                for (int c = 0; c <= 2 * Series.MAX_COMBINATIONS; c++) {
                    boolean newUser = c < Series.MAX_COMBINATIONS;
                    Instant time = hour.plusSeconds(c);
                    UsageEvent e = UsageEvent.newBuilder().setId("evt-" + h + "-" + c).setSource("bench").setCustomer(CUSTOMER)
                            .setFeature(newUser ? "chat" : "feature_" + c).setModel("gpt-4o-mini").setApiKey("key_" + c % 10)
                            .setUser("user_with_a_realistic_length_" + c).setTime(time)
                            .setUsage(List.of(new Quantity("input_tokens", null, new BigDecimal(1 + c).setScale(9)),
                                    new Quantity("output_tokens", null, new BigDecimal(7 * c).setScale(9))))
                            .build();
                    producer.send(new ProducerRecord<>(topics.usageEvents(), null, time.plusSeconds(1).toEpochMilli(), CUSTOMER,
                            serde.serialize(topics.usageEvents(), e)));
                    sent++;
                }
            }
        }
        return sent;
    }

    /** Until the customer's last hour holds every combination (the input is consumed in order). */
    private static void waitForBooking(AggregatorService aggregator, int hours) throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        Instant last = Instant.now().truncatedTo(ChronoUnit.HOURS).minus(Duration.ofHours(1));
        URI uri = URI.create("http://127.0.0.1:" + aggregator.port() + "/v1/customers/" + CUSTOMER + "/usage/series?granularity=hour&from="
                + last + "&to=" + last.plus(Duration.ofHours(1)));
        long deadline = System.nanoTime() + Duration.ofMinutes(10).toNanos();
        long expected = 2 * Series.MAX_COMBINATIONS + 1;
        while (System.nanoTime() < deadline) {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(uri).header("Authorization", "Bearer bench-key").build(),
                    HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() == 200 && r.body().contains("\"events\":" + expected + ",")) {
                return;
            }
            Thread.sleep(500);
        }
        throw new IllegalStateException("the aggregator did not book " + hours + " hours in 10 minutes");
    }
}

package io.capstream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.runtime.Json;
import io.capstream.schemas.topics.Topics;
import java.io.IOException;
import java.io.PrintWriter;
import java.io.Writer;
import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;
import javax.management.remote.JMXConnector;
import javax.management.remote.JMXConnectorFactory;
import javax.management.remote.JMXServiceURL;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.ListGroupsOptions;
import org.apache.kafka.clients.admin.ListOffsetsOptions;
import org.apache.kafka.clients.admin.OffsetSpec;
import org.apache.kafka.clients.consumer.OffsetAndMetadata;
import org.apache.kafka.common.GroupState;
import org.apache.kafka.common.IsolationLevel;
import org.apache.kafka.common.TopicPartition;
import org.knowm.xchart.BitmapEncoder;
import org.knowm.xchart.XYChart;
import org.knowm.xchart.XYChartBuilder;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * A soak run against a running stack: steady traffic through ingest at a fixed offered rate (failed
 * batches retried with the same event ids, as a client would), and every sample interval the heap after
 * GC of each named service process, the size of the aggregators' RocksDB stores, the lag of every consumer
 * group and the freshness of the query API (ingest's 202 until the customer's usage counts the event),
 * written to {@code soak.csv} and charted in {@code soak.png}. At the end every customer's event count is
 * compared with what was accepted, and {@link SoakVerdict} says whether memory and lag stayed flat.
 *
 * <p>Heap after GC is measured, not guessed from the collector's sawtooth: once per sample the command
 * attaches to each process (the JDK's attach API, same user) and asks it for a full GC over JMX, then
 * reads the heap in use. That costs each service one full collection per sample; it shows in the
 * freshness of that moment and is part of what the run measures.
 */
@Command(name = "soak", description = "Steady traffic through ingest; heap after GC, RocksDB size, consumer lag and freshness "
        + "sampled into soak.csv and soak.png; exit 0 when memory and lag stayed flat and the totals are exact.")
final class SoakCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    StackOptions stack;

    @Option(names = "--bootstrap-servers", defaultValue = "localhost:9092")
    String bootstrapServers;

    @Option(names = "--minutes", defaultValue = "30", description = "How long traffic runs (default ${DEFAULT-VALUE}).")
    double minutes;

    @Option(names = "--sample-seconds", defaultValue = "60", description = "Seconds between samples (default ${DEFAULT-VALUE}).")
    int sampleSeconds;

    @Option(names = "--rate", defaultValue = "1000", description = "Offered events per second (default ${DEFAULT-VALUE}).")
    int rate;

    @Option(names = "--customers", defaultValue = "1000", description = "Customers the events are spread over (default ${DEFAULT-VALUE}).")
    int customers;

    @Option(names = "--batch", defaultValue = "20", description = "Events per request (default ${DEFAULT-VALUE}).")
    int batch;

    @Option(names = "--feature", defaultValue = "chat")
    String feature;

    @Option(names = "--model", defaultValue = "gpt-4o-mini")
    String model;

    @Option(names = "--process", description = "NAME=PID of a service process whose heap after GC is sampled (repeatable).")
    Map<String, Long> processes = new LinkedHashMap<>();

    @Option(names = "--aggregator-metrics", description = "An aggregator's /metrics URL, for the size of its RocksDB stores (repeatable).")
    List<URI> aggregatorMetrics = new ArrayList<>();

    @Option(names = "--group", description = "A consumer group whose lag is sampled (repeatable; default: every group stable at the start that reads a Capstream topic).")
    List<String> groups = new ArrayList<>();

    @Option(names = "--topic-prefix", defaultValue = "", description = "Prefix of every Capstream topic name.")
    String topicPrefix;

    @Option(names = "--out", required = true, description = "Directory for soak.csv and soak.png.")
    Path out;

    private final HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Integer call() throws Exception {
        PrintWriter console = spec.commandLine().getOut();
        Files.createDirectories(out);
        String run = "soak-" + Long.toString(Instant.now().getEpochSecond(), 36);
        int samples = Math.max(1, (int) Math.round(minutes * 60 / sampleSeconds));
        Map<String, Heap> heaps = new LinkedHashMap<>();
        for (Map.Entry<String, Long> p : processes.entrySet()) {
            heaps.put(p.getKey(), Heap.attach(p.getValue()));
        }
        try (Admin admin = Admin.create(Map.of("bootstrap.servers", bootstrapServers));
             Writer csv = Files.newBufferedWriter(out.resolve("soak.csv"))) {
            List<String> lagGroups = groups.isEmpty() ? stableGroups(admin) : groups;
            Samples series = new Samples(heaps.keySet(), lagGroups, samples);
            csv.write(series.header() + "\n");
            console.printf(Locale.ROOT, "Soak %s: %d events/s offered for %.1f min over %d customers, a sample every %d s, into %s%n",
                    run, rate, minutes, customers, sampleSeconds, out);
            Traffic traffic = new Traffic(run);
            Probe probe = new Probe(run + "-probe");
            traffic.start();
            probe.start();
            long start = System.nanoTime();
            long acceptedBefore = 0;
            for (int i = 0; i < samples; i++) {
                LockSupport.parkNanos(start + (i + 1L) * sampleSeconds * 1_000_000_000L - System.nanoTime());
                long accepted = traffic.accepted.get();
                long[] freshness = probe.drain();
                Map<String, Long> heap = new LinkedHashMap<>();
                heaps.forEach((name, h) -> heap.put(name, h.afterGc()));
                series.add(i, (i + 1.0) * sampleSeconds / 60, (double) (accepted - acceptedBefore) / sampleSeconds, traffic.retries.get(),
                        heap, rocksDbBytes(), lag(admin, lagGroups), freshness);
                acceptedBefore = accepted;
                csv.write(series.row(i) + "\n");
                csv.flush();
                console.println(series.describe(i));
                console.flush();
            }
            traffic.stop();
            probe.stop();
            console.println("traffic stopped; comparing every customer's total with what was accepted (up to 3 minutes for the last events)");
            boolean exact = awaitExact(traffic, probe, console);
            SoakVerdict verdict = SoakVerdict.of(series.heapAfterGc(), series.lag(), rate, exact);
            series.chart(out.resolve("soak.png"), run);
            console.printf(Locale.ROOT, "soak %s: %s (%d events accepted, %d batches retried)%n  %s%n  wrote %s and %s%n",
                    run, verdict.passed() ? "PASSED" : "FAILED", traffic.accepted.get(), traffic.retries.get(),
                    String.join("\n  ", verdict.findings()), out.resolve("soak.csv"), out.resolve("soak.png"));
            return verdict.passed() ? 0 : 1;
        } finally {
            for (Heap h : heaps.values()) {
                h.close();
            }
        }
    }

    /** The consumer groups that are stable now and have a member reading one of Capstream's topics (not the registry's or anyone else's). */
    private List<String> stableGroups(Admin admin) throws Exception {
        Set<String> capstream = new HashSet<>();
        new Topics(topicPrefix).specs(Duration.ofDays(1)).forEach(spec -> capstream.add(spec.name()));
        List<String> stable = admin.listGroups(new ListGroupsOptions().inGroupStates(Set.of(GroupState.STABLE))).all().get().stream()
                .map(g -> g.groupId()).toList();
        return admin.describeConsumerGroups(stable).all().get().values().stream()
                .filter(g -> g.members().stream().anyMatch(m -> m.assignment().topicPartitions().stream().anyMatch(tp -> capstream.contains(tp.topic()))))
                .map(g -> g.groupId()).sorted().toList();
    }

    /** Records behind per group: the last stable offset (read_committed) less the group's committed offset, over its partitions. */
    private static Map<String, Long> lag(Admin admin, List<String> groups) {
        Map<String, Long> lag = new LinkedHashMap<>();
        for (String group : groups) {
            try {
                Map<TopicPartition, OffsetAndMetadata> committed = admin.listConsumerGroupOffsets(group).partitionsToOffsetAndMetadata().get();
                Map<TopicPartition, OffsetSpec> latest = new HashMap<>();
                committed.keySet().forEach(tp -> latest.put(tp, OffsetSpec.latest()));
                var ends = admin.listOffsets(latest, new ListOffsetsOptions(IsolationLevel.READ_COMMITTED)).all().get();
                long behind = 0;
                for (Map.Entry<TopicPartition, OffsetAndMetadata> c : committed.entrySet()) {
                    if (c.getValue() != null) {
                        behind += Math.max(0, ends.get(c.getKey()).offset() - c.getValue().offset());
                    }
                }
                lag.put(group, behind);
            } catch (Exception e) {
                lag.put(group, -1L); // the broker did not answer in time: a gap in the series, not a zero
            }
        }
        return lag;
    }

    /** Whether every customer's booked count reaches exactly what was accepted, within 3 minutes; the differences are printed if not. */
    private static boolean awaitExact(Traffic traffic, Probe probe, PrintWriter console) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.MINUTES.toNanos(3);
        while (System.nanoTime() < deadline) {
            if (traffic.exact(null) && probe.exact(null)) {
                return true;
            }
            Thread.sleep(2_000);
        }
        return traffic.exact(console) & probe.exact(console);
    }

    /**
     * RocksDB's size as the aggregators' stores report it (Kafka Streams' RocksDB metrics): SST files on disk plus
     * memtables in native memory, over every store, task and instance; -1 if an instance did not answer or does not report
     * them yet.
     */
    private long rocksDbBytes() {
        long bytes = 0;
        for (URI url : aggregatorMetrics) {
            try {
                HttpResponse<java.util.stream.Stream<String>> r = http.send(HttpRequest.newBuilder(url).timeout(Duration.ofSeconds(10)).build(),
                        HttpResponse.BodyHandlers.ofLines());
                double[] sizes = r.body().filter(line -> line.startsWith("kafka_stream_state_total_sst_files_size{")
                                || line.startsWith("kafka_stream_state_size_all_mem_tables{"))
                        .mapToDouble(line -> Double.parseDouble(line.substring(line.lastIndexOf(' ') + 1))).toArray();
                if (sizes.length == 0) {
                    return -1; // not exported yet: the metrics binder picks up new stores' metrics once a minute
                }
                bytes += (long) Arrays.stream(sizes).sum();
            } catch (IOException e) {
                return -1;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return -1;
            }
        }
        return bytes;
    }

    private HttpRequest postEvents(String body) {
        return HttpRequest.newBuilder(URI.create(stack.ingestUrl + "/v1/events")).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + stack.key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(body)).build();
    }

    private String event(String id, String customer, long quantity) {
        return "{\"id\":\"" + id + "\",\"customer\":\"" + customer + "\",\"feature\":\"" + feature + "\",\"model\":\"" + model
                + "\",\"usage\":{\"input_tokens\":" + quantity + "}}";
    }

    /** The customer's booked event count, or -1 while the query API cannot say (not booked yet, rebalancing). */
    private long bookedEvents(String customer) {
        try {
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(stack.queryUrl + "/v1/customers/" + customer + "/usage"))
                    .timeout(Duration.ofSeconds(10)).header("Authorization", "Bearer " + stack.key).build(), HttpResponse.BodyHandlers.ofString());
            if (r.statusCode() != 200) {
                return -1;
            }
            long n = 0;
            for (JsonNode f : Json.MAPPER.readTree(r.body()).path("features")) {
                n += f.path("events").asLong();
            }
            return n;
        } catch (IOException e) {
            return -1;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return -1;
        }
    }

    /** Open-loop traffic: a batch at each scheduled time whatever the answers; a batch not accepted is sent again a second later. */
    private final class Traffic {
        final String run;
        final AtomicLong accepted = new AtomicLong();
        final AtomicLong retries = new AtomicLong();
        final AtomicLongArray expected = new AtomicLongArray(customers);
        final AtomicInteger inFlight = new AtomicInteger();
        final ScheduledExecutorService retry = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("soak-retry").unstarted(r));
        volatile boolean running = true;
        Thread sender;

        Traffic(String run) {
            this.run = run;
        }

        void start() {
            sender = Thread.ofPlatform().name("soak-traffic").start(() -> {
                long interval = 1_000_000_000L * batch / rate;
                long start = System.nanoTime();
                for (long k = 0; running; k++) {
                    LockSupport.parkNanos(start + k * interval - System.nanoTime());
                    long first = k * batch;
                    StringBuilder body = new StringBuilder(batch * 140).append('[');
                    int[] counts = new int[customers];
                    for (long n = first; n < first + batch; n++) {
                        int customer = (int) (n % customers);
                        counts[customer]++;
                        body.append(n == first ? "" : ",").append(event(run + "-" + n, run + "-" + customer, 1 + n % 4000));
                    }
                    send(body.append(']').toString(), counts);
                }
            });
        }

        void send(String body, int[] counts) {
            inFlight.incrementAndGet();
            http.sendAsync(postEvents(body), HttpResponse.BodyHandlers.discarding()).whenComplete((r, e) -> {
                if (e == null && r.statusCode() == 202) {
                    for (int c = 0; c < counts.length; c++) {
                        if (counts[c] > 0) {
                            expected.addAndGet(c, counts[c]);
                        }
                    }
                    accepted.addAndGet(batch);
                } else {
                    retries.incrementAndGet();
                    retry.schedule(() -> send(body, counts), 1, TimeUnit.SECONDS);
                }
                inFlight.decrementAndGet();
            });
        }

        void stop() throws InterruptedException {
            running = false;
            sender.join();
            while (inFlight.get() > 0) {
                Thread.sleep(100);
            }
        }

        boolean exact(PrintWriter console) {
            int wrong = 0;
            for (int c = 0; c < customers; c++) {
                long booked = bookedEvents(run + "-" + c);
                long want = expected.get(c);
                if (booked != want && !(booked == -1 && want == 0)) {
                    if (wrong++ < 5 && console != null) {
                        console.printf(Locale.ROOT, "  %s-%d: %d events booked, %d accepted%n", run, c, booked, want);
                    }
                }
            }
            return wrong == 0;
        }
    }

    /** One probe event at a time, twice a second: ingest's 202 until the query API counts it. */
    private final class Probe {
        final String customer;
        final ConcurrentLinkedQueue<Long> latencies = new ConcurrentLinkedQueue<>();
        volatile boolean running = true;
        long sent;
        Thread thread;

        Probe(String customer) {
            this.customer = customer;
        }

        void start() {
            thread = Thread.ofPlatform().name("soak-probe").start(() -> {
                long start = System.nanoTime();
                for (long k = 0; running; k++) {
                    LockSupport.parkNanos(start + k * 500_000_000L - System.nanoTime());
                    try {
                        probeOnce();
                    } catch (IOException e) {
                        // ingest not answering is traffic's business (retried there); the probe tries again next time
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });
        }

        private void probeOnce() throws IOException, InterruptedException {
            HttpResponse<Void> r = http.send(postEvents("[" + event(customer + "-" + sent, customer, 1) + "]"), HttpResponse.BodyHandlers.discarding());
            if (r.statusCode() != 202) {
                return; // the same id again next time
            }
            long acceptedAt = System.nanoTime();
            sent++;
            long deadline = acceptedAt + TimeUnit.SECONDS.toNanos(60);
            while (bookedEvents(customer) < sent && System.nanoTime() < deadline) {
                LockSupport.parkNanos(10_000_000);
            }
            latencies.add(System.nanoTime() - acceptedAt);
        }

        /** The probes finished since the last call, sorted, in nanoseconds. */
        long[] drain() {
            List<Long> batch = new ArrayList<>();
            for (Long l = latencies.poll(); l != null; l = latencies.poll()) {
                batch.add(l);
            }
            return batch.stream().mapToLong(Long::longValue).sorted().toArray();
        }

        void stop() throws InterruptedException {
            running = false;
            thread.join();
        }

        boolean exact(PrintWriter console) {
            long booked = bookedEvents(customer);
            if (booked != sent && console != null) {
                console.printf(Locale.ROOT, "  %s: %d events booked, %d accepted%n", customer, booked, sent);
            }
            return booked == sent;
        }
    }

    /** A service process's heap, through its own JMX agent (started by the attach API). */
    private record Heap(JMXConnector connector, MemoryMXBean memory) implements AutoCloseable {
        static Heap attach(long pid) throws Exception {
            com.sun.tools.attach.VirtualMachine vm = com.sun.tools.attach.VirtualMachine.attach(Long.toString(pid));
            try {
                JMXConnector connector = JMXConnectorFactory.connect(new JMXServiceURL(vm.startLocalManagementAgent()));
                return new Heap(connector, ManagementFactory.newPlatformMXBeanProxy(connector.getMBeanServerConnection(),
                        ManagementFactory.MEMORY_MXBEAN_NAME, MemoryMXBean.class));
            } finally {
                vm.detach();
            }
        }

        /** Bytes in use after a full GC; -1 if the process no longer answers. */
        long afterGc() {
            try {
                memory.gc();
                return memory.getHeapMemoryUsage().getUsed();
            } catch (RuntimeException e) {
                return -1;
            }
        }

        @Override
        public void close() throws IOException {
            connector.close();
        }
    }

    /** The sampled series, as CSV rows, console lines and a chart. */
    private static final class Samples {
        final List<String> services;
        final List<String> groups;
        final double[] minute;
        final double[] acceptedPerSecond;
        final long[] retried;
        final Map<String, long[]> heap = new LinkedHashMap<>();
        final long[] stateBytes;
        final Map<String, long[]> lag = new LinkedHashMap<>();
        final double[] freshP50;
        final double[] freshP99;
        final int[] freshCount;
        int filled;

        Samples(Set<String> services, List<String> groups, int n) {
            this.services = List.copyOf(services);
            this.groups = List.copyOf(groups);
            minute = new double[n];
            acceptedPerSecond = new double[n];
            retried = new long[n];
            stateBytes = new long[n];
            freshP50 = new double[n];
            freshP99 = new double[n];
            freshCount = new int[n];
            services.forEach(s -> heap.put(s, new long[n]));
            groups.forEach(g -> lag.put(g, new long[n]));
        }

        void add(int i, double at, double accepted, long retries, Map<String, Long> heapAfterGc, long state, Map<String, Long> lags, long[] fresh) {
            minute[i] = at;
            acceptedPerSecond[i] = accepted;
            retried[i] = retries;
            heapAfterGc.forEach((s, b) -> heap.get(s)[i] = b);
            stateBytes[i] = state;
            lags.forEach((g, l) -> lag.get(g)[i] = l);
            freshP50[i] = pct(fresh, 0.50);
            freshP99[i] = pct(fresh, 0.99);
            freshCount[i] = fresh.length;
            filled = i + 1;
        }

        String header() {
            List<String> h = new ArrayList<>(List.of("minute", "accepted_per_s", "batches_retried"));
            services.forEach(s -> h.add("heap_after_gc_mib_" + s));
            h.add("rocksdb_mib");
            groups.forEach(g -> h.add("lag_" + g));
            h.addAll(List.of("freshness_p50_ms", "freshness_p99_ms", "freshness_probes"));
            return String.join(",", h);
        }

        String row(int i) {
            List<String> r = new ArrayList<>(List.of(f(minute[i]), f(acceptedPerSecond[i]), Long.toString(retried[i])));
            services.forEach(s -> r.add(f(mib(heap.get(s)[i]))));
            r.add(f(mib(stateBytes[i])));
            groups.forEach(g -> r.add(Long.toString(lag.get(g)[i])));
            r.addAll(List.of(f(freshP50[i]), f(freshP99[i]), Integer.toString(freshCount[i])));
            return String.join(",", r);
        }

        String describe(int i) {
            StringBuilder s = new StringBuilder(String.format(Locale.ROOT, "%5.1f min: %.0f events/s accepted, heap after GC", minute[i], acceptedPerSecond[i]));
            services.forEach(name -> s.append(String.format(Locale.ROOT, " %s %.0f MiB", name, mib(heap.get(name)[i]))));
            s.append(String.format(Locale.ROOT, ", RocksDB %.1f MiB, lag", mib(stateBytes[i])));
            groups.forEach(g -> s.append(' ').append(g).append(' ').append(lag.get(g)[i]));
            return s.append(String.format(Locale.ROOT, ", freshness p50 %.0f ms p99 %.0f ms (%d probes)", freshP50[i], freshP99[i], freshCount[i])).toString();
        }

        Map<String, long[]> heapAfterGc() {
            Map<String, long[]> m = new LinkedHashMap<>();
            heap.forEach((s, v) -> m.put(s, Arrays.copyOf(v, filled)));
            return m;
        }

        Map<String, long[]> lag() {
            Map<String, long[]> m = new LinkedHashMap<>();
            lag.forEach((g, v) -> m.put(g, Arrays.copyOf(v, filled)));
            return m;
        }

        void chart(Path png, String title) throws IOException {
            System.setProperty("java.awt.headless", "true"); // fonts and images only; nothing opens a window
            XYChart heapChart = chart(title + ": heap after GC", "MiB");
            heap.forEach((s, v) -> series(heapChart, s, Arrays.stream(v).mapToDouble(Samples::mib).toArray()));
            XYChart stateChart = chart("RocksDB: SST files + memtables", "MiB");
            series(stateChart, "aggregators", Arrays.stream(stateBytes).mapToDouble(Samples::mib).toArray());
            XYChart lagChart = chart("consumer lag", "records");
            lag.forEach((g, v) -> series(lagChart, g, Arrays.stream(v).mapToDouble(l -> l < 0 ? Double.NaN : l).toArray()));
            XYChart freshChart = chart("freshness: ingest 202 → query API counts it", "ms");
            series(freshChart, "p50", freshP50);
            series(freshChart, "p99", freshP99);
            BitmapEncoder.saveBitmap(List.of(heapChart, stateChart, lagChart, freshChart), 2, 2, png.toString(), BitmapEncoder.BitmapFormat.PNG);
        }

        /** The filled samples of {@code y} that have a value (a sample nothing answered is left out, not drawn as 0). */
        private void series(XYChart chart, String name, double[] y) {
            int[] at = java.util.stream.IntStream.range(0, filled).filter(i -> !Double.isNaN(y[i])).toArray();
            if (at.length == 0) {
                chart.addSeries(name + " (no samples)", new double[] {0}, new double[] {0});
                return;
            }
            chart.addSeries(name, Arrays.stream(at).mapToDouble(i -> minute[i]).toArray(), Arrays.stream(at).mapToDouble(i -> y[i]).toArray());
        }

        private static XYChart chart(String title, String unit) {
            XYChart chart = new XYChartBuilder().width(640).height(400).title(title).xAxisTitle("minutes").yAxisTitle(unit).build();
            chart.getStyler().setYAxisMin(0.0);
            return chart;
        }

        private static double mib(long bytes) {
            return bytes < 0 ? Double.NaN : bytes / 1048576.0;
        }

        private static String f(double v) {
            return Double.isNaN(v) ? "" : String.format(Locale.ROOT, "%.2f", v);
        }

        private static double pct(long[] sorted, double p) {
            return sorted.length == 0 ? Double.NaN : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
        }
    }
}

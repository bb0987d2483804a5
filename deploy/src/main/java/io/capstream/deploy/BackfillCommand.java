package io.capstream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capstream.runtime.Json;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import org.apache.kafka.common.serialization.StringDeserializer;
import picocli.CommandLine.ArgGroup;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/**
 * {@code backfill FILE --from --to [--replace]}: loads the events of a file for a timeframe through ingest's API, in
 * batches, with a progress bar. Idempotent: every event keeps its id, so a second run (or a resumed one) is counted
 * once by the aggregator's dedup. Resumable: the lines acknowledged are kept in a progress file next to the input, and a
 * run with the same file goes on from there.
 *
 * <p>With {@code --replace}, the file becomes the source's usage of the timeframe: the events of that source and
 * timeframe already in usage-events (its version in force, read from the topic) that the file does not have are voided,
 * those whose content differs are replaced ({@code POST /v1/events/{id}/replace}), and the file's new ones sent; an
 * event already as the file says is left alone, so a second run changes nothing.
 */
@Command(name = "backfill", description = "Load a file of events (JSON lines or CSV) for a timeframe through ingest; resumable and idempotent.")
final class BackfillCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", description = "JSON lines (each an event as POST /v1/events takes it) or CSV with a header row.")
    Path file;

    @Option(names = "--from", required = true, description = "Start of the timeframe (inclusive), e.g. 2026-11-01T00:00:00Z.")
    Instant from;

    @Option(names = "--to", required = true, description = "End of the timeframe (exclusive).")
    Instant to;

    @Option(names = "--source", defaultValue = "backfill", description = "The source of events that name none; with --replace, the source replaced.")
    String source;

    @Option(names = "--replace", description = "Void the source's events of the timeframe that the file does not have and replace those it changes.")
    boolean replace;

    @Option(names = "--ingest-url", defaultValue = "http://localhost:8080", description = "Ingest's API.")
    String ingestUrl;

    @Option(names = "--key", required = true, description = "An API key with the ingest scope.")
    String key;

    @Option(names = "--batch", defaultValue = "500", description = "Events per request (at most 1000).")
    int batch;

    @ArgGroup(exclusive = false, heading = "With --replace: where usage-events is%n")
    ClusterOptions cluster;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        if (!from.isBefore(to)) {
            err.println("--from must be before --to");
            return 2;
        }
        if (replace && cluster == null) {
            err.println("--replace reads the source's events of the timeframe from usage-events: give --bootstrap-servers and --registry-url");
            return 2;
        }
        BackfillFile input;
        try {
            input = BackfillFile.read(file, from, to, source);
        } catch (IllegalArgumentException e) {
            err.println(file + ": " + e.getMessage());
            return 1;
        }
        List<BackfillFile.Line> send = new ArrayList<>(input.events());
        List<ObjectNode> replacements = new ArrayList<>();
        List<String[]> voids = new ArrayList<>();
        int unchanged = 0;
        if (replace) {
            for (BackfillFile.Line l : input.events()) {
                if (!source.equals(l.event().path("source").asText())) {
                    err.println(file + ": line " + l.number() + ": its source is not " + source + ", the source replaced");
                    return 1;
                }
            }
            Map<String, JsonNode> inForce = inForce();
            Set<String> inFile = new HashSet<>();
            send.clear();
            for (BackfillFile.Line l : input.events()) {
                String identity = l.customer() + '|' + l.id();
                inFile.add(identity);
                JsonNode current = inForce.get(identity);
                if (current == null) {
                    send.add(l);
                } else if (BackfillFile.same(current, l.event())) {
                    unchanged++;
                } else {
                    replacements.add(l.event());
                }
            }
            inForce.forEach((identity, event) -> {
                if (!inFile.contains(identity)) {
                    voids.add(new String[] {event.path("customer").asText(), event.path("id").asText()});
                }
            });
        }
        try {
            return load(send, replacements, voids, unchanged, out, err);
        } catch (BackfillRefused e) {
            err.println();
            err.println(e.getMessage());
            return 1;
        }
    }

    private int load(List<BackfillFile.Line> send, List<ObjectNode> replacements, List<String[]> voids, int unchanged, PrintWriter out,
                     PrintWriter err) throws IOException, InterruptedException {
        Path progressFile = file.resolveSibling(file.getFileName() + ".progress");
        int done = replace ? 0 : resumeFrom(progressFile);
        Progress bar = new Progress(err, voids.size() + replacements.size() + send.size());
        bar.advance(done);
        for (String[] v : voids) {
            ObjectNode body = Json.MAPPER.createObjectNode().put("customer", v[0]).put("source", source).put("reason", "backfill --replace " + from + " .. " + to);
            post("/v1/events/" + encode(v[1]) + "/void", body, null);
            bar.advance(1);
        }
        for (ObjectNode r : replacements) {
            ObjectNode body = r.deepCopy();
            body.remove("id");
            if (!body.hasNonNull("reason")) {
                body.put("reason", "backfill --replace " + from + " .. " + to);
            }
            post("/v1/events/" + encode(r.path("id").asText()) + "/replace", body, null);
            bar.advance(1);
        }
        for (int i = done; i < send.size(); i += batch) {
            List<BackfillFile.Line> chunk = send.subList(i, Math.min(send.size(), i + batch));
            ArrayNode body = Json.MAPPER.createArrayNode();
            chunk.forEach(l -> body.add(l.event()));
            post("/v1/events", body, chunk);
            if (!replace) {
                saveProgress(progressFile, i + chunk.size());
            }
            bar.advance(chunk.size());
        }
        bar.finish();
        out.printf("backfill %s: %d events sent, %d replaced, %d voided, %d already as the file says (%s .. %s)%n",
                file.getFileName(), send.size() - done, replacements.size(), voids.size(), unchanged, from, to);
        return 0;
    }

    /**
     * The source's events whose version in force lies in the timeframe, by customer|id, as the aggregator will have booked
     * them: read from usage-events in order (a resent event is a duplicate, a replacement is the new version, a void takes
     * the event out), as JSON like the file's.
     */
    private Map<String, JsonNode> inForce() {
        Map<String, UsageEvent> versions = new LinkedHashMap<>();
        Set<String> voided = new HashSet<>();
        RegistryAvroSerde<UsageEvent> serde = RegistryAvroSerde.of(UsageEvent.class, new SchemaRegistryClient(cluster.registryUrl), false);
        String topic = cluster.topics().usageEvents();
        // what the aggregator refused was never booked: not in force, whatever usage-events holds
        Set<String> refused = new HashSet<>();
        readAll(cluster.topics().usageEventsDlq(), r -> {
            if (topic.equals(header(r, "capstream.source.topic"))) {
                refused.add(header(r, "capstream.source.partition") + "@" + header(r, "capstream.source.offset"));
            }
        });
        readAll(topic, r -> {
            if (!refused.contains(r.partition() + "@" + r.offset())) {
                version(serde, topic, r, versions, voided);
            }
        });
        Map<String, JsonNode> inForce = new LinkedHashMap<>();
        versions.forEach((identity, e) -> {
            if (!e.getTime().isBefore(from) && e.getTime().isBefore(to)) {
                inForce.put(identity, json(e));
            }
        });
        return inForce;
    }

    private static String header(ConsumerRecord<String, byte[]> r, String name) {
        var h = r.headers().lastHeader(name);
        return h == null ? null : new String(h.value(), java.nio.charset.StandardCharsets.UTF_8);
    }

    /** Every committed record of {@code topic} up to its end now. */
    private void readAll(String topic, java.util.function.Consumer<ConsumerRecord<String, byte[]>> each) {
        Map<String, Object> props = new HashMap<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers,
                ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed", ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false));
        try (KafkaConsumer<String, byte[]> consumer = new KafkaConsumer<>(props, new StringDeserializer(), new ByteArrayDeserializer())) {
            List<TopicPartition> partitions = consumer.partitionsFor(topic).stream().map(p -> new TopicPartition(topic, p.partition())).toList();
            consumer.assign(partitions);
            consumer.seekToBeginning(partitions);
            Map<TopicPartition, Long> ends = consumer.endOffsets(partitions);
            while (partitions.stream().anyMatch(p -> consumer.position(p) < ends.get(p))) {
                consumer.poll(Duration.ofMillis(500)).forEach(each);
            }
        }
    }

    /** Applies one record of usage-events of the source to the versions in force (an event, or an amendment of one). */
    private void version(RegistryAvroSerde<UsageEvent> serde, String topic, ConsumerRecord<String, byte[]> r, Map<String, UsageEvent> versions,
                         Set<String> voided) {
        UsageEvent e;
        try {
            e = serde.deserialize(topic, r.headers(), r.value());
        } catch (RuntimeException notAnEvent) { // what the aggregator dead-letters as unreadable
            return;
        }
        if (e == null || !source.equals(e.getSource())) {
            return;
        }
        String identity = e.getCustomer() + '|' + e.getId();
        if (e.getAmendment() == null) {
            if (!versions.containsKey(identity) && !voided.contains(identity)) {
                versions.put(identity, e);
            }
        } else if (versions.containsKey(identity)) {
            if ("void".equals(e.getAmendment())) {
                versions.remove(identity);
                voided.add(identity);
            } else {
                versions.put(identity, e);
            }
        }
    }

    private static JsonNode json(UsageEvent e) {
        ObjectNode n = Json.MAPPER.createObjectNode().put("id", e.getId()).put("customer", e.getCustomer()).put("feature", e.getFeature())
                .put("source", e.getSource()).put("time", e.getTime().toString());
        if (e.getModel() != null) n.put("model", e.getModel());
        if (e.getUser() != null) n.put("user", e.getUser());
        if (e.getApiKey() != null) n.put("api_key", e.getApiKey());
        ObjectNode usage = n.putObject("usage");
        for (Quantity q : e.getUsage()) {
            usage.put(q.getMeter(), q.getQuantity());
        }
        return n;
    }

    /**
     * Posts, retrying while ingest is unavailable (503, or not reachable) for up to a minute, and after the wait a 429 names
     * (ingest limits a customer's events and its voids and replacements a second) for as long as it takes; stops at any other refusal.
     */
    void post(String path, JsonNode body, List<BackfillFile.Line> lines) throws IOException, InterruptedException {
        HttpRequest request = HttpRequest.newBuilder(URI.create(ingestUrl + path)).timeout(Duration.ofSeconds(30))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .POST(HttpRequest.BodyPublishers.ofString(Json.MAPPER.writeValueAsString(body))).build();
        long deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
        for (long backoff = 200; ; backoff = Math.min(backoff * 2, 5_000)) {
            HttpResponse<String> response;
            try {
                response = http.send(request, HttpResponse.BodyHandlers.ofString());
            } catch (IOException unreachable) {
                if (System.nanoTime() > deadline) {
                    throw unreachable;
                }
                Thread.sleep(backoff);
                continue;
            }
            if (response.statusCode() == 202) {
                return;
            }
            if (response.statusCode() == 429) {
                Thread.sleep(Duration.ofSeconds(retryAfter(response)));
                deadline = System.nanoTime() + Duration.ofMinutes(1).toNanos();
                continue;
            }
            if (response.statusCode() != 503 || System.nanoTime() > deadline) {
                throw new BackfillRefused(path, response, lines);
            }
            Thread.sleep(backoff);
        }
    }

    /** The seconds a 429 asks to wait: its {@code Retry-After}, read as 1 to 60 (1 when missing or not a number). */
    static long retryAfter(HttpResponse<?> response) {
        try {
            return Math.clamp(Long.parseLong(response.headers().firstValue("Retry-After").orElse("1").trim()), 1, 60);
        } catch (NumberFormatException e) {
            return 1;
        }
    }

    /** A request ingest refused: what it said, each problem at its line of the file. */
    static final class BackfillRefused extends RuntimeException {
        BackfillRefused(String path, HttpResponse<String> response, List<BackfillFile.Line> lines) {
            super(describe(path, response, lines));
        }

        private static String describe(String path, HttpResponse<String> response, List<BackfillFile.Line> lines) {
            StringBuilder s = new StringBuilder("POST " + path + " answered " + response.statusCode() + "; what was sent before is stored"
                    + " (run again to go on)");
            try {
                JsonNode errors = Json.MAPPER.readTree(response.body()).path("error").path("errors");
                for (JsonNode e : errors) {
                    int index = e.path("index").asInt();
                    String at = lines != null && index < lines.size() ? "line " + lines.get(index).number() : "the request";
                    s.append("\n  ").append(at).append(": ").append(e.path("field").asText()).append(": ").append(e.path("message").asText());
                }
                if (errors.isEmpty()) {
                    s.append(": ").append(response.body());
                }
            } catch (IOException notJson) {
                s.append(": ").append(response.body());
            }
            return s.toString();
        }
    }

    /** How many events a run with the same file (same size and time) acknowledged before; 0 for another file. */
    private int resumeFrom(Path progress) throws IOException {
        if (!Files.exists(progress)) {
            return 0;
        }
        JsonNode p = Json.MAPPER.readTree(Files.readString(progress));
        boolean same = p.path("size").asLong() == Files.size(file) && p.path("modified").asLong() == Files.getLastModifiedTime(file).toMillis()
                && p.path("from").asText().equals(from.toString()) && p.path("to").asText().equals(to.toString());
        return same ? p.path("sent").asInt() : 0;
    }

    private void saveProgress(Path progress, int sent) throws IOException {
        ObjectNode p = Json.MAPPER.createObjectNode().put("file", file.toString()).put("size", Files.size(file))
                .put("modified", Files.getLastModifiedTime(file).toMillis()).put("from", from.toString()).put("to", to.toString()).put("sent", sent);
        Path tmp = progress.resolveSibling(progress.getFileName() + ".tmp");
        Files.writeString(tmp, Json.MAPPER.writeValueAsString(p), StandardCharsets.UTF_8);
        Files.move(tmp, progress, StandardCopyOption.REPLACE_EXISTING, StandardCopyOption.ATOMIC_MOVE);
    }

    private static String encode(String id) {
        return java.net.URLEncoder.encode(id, StandardCharsets.UTF_8).replace("+", "%20");
    }

    /** A progress bar on standard error, redrawn at most every 200 ms. */
    static final class Progress {
        private final PrintWriter err;
        private final int total;
        private int done;
        private long drawn;

        Progress(PrintWriter err, int total) {
            this.err = err;
            this.total = total;
        }

        void advance(int n) {
            done += n;
            if (System.nanoTime() - drawn > 200_000_000L) {
                draw();
            }
        }

        void finish() {
            draw();
            err.println();
        }

        private void draw() {
            drawn = System.nanoTime();
            int width = 30;
            int filled = total == 0 ? width : (int) ((long) done * width / total);
            err.printf("\rbackfill [%s%s] %,d/%,d (%d%%)", "#".repeat(filled), "-".repeat(width - filled), done, total,
                    total == 0 ? 100 : done * 100L / total);
            err.flush();
        }
    }
}

package io.capstream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.capstream.runtime.Json;
import java.io.BufferedReader;
import java.io.IOException;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;

/**
 * The events of a backfill file, each as the JSON {@code POST /v1/events} takes, with its line number: JSON lines (one
 * event per line, as the API's native form) or CSV (a header row; columns {@code id, customer, feature, model, time,
 * user, api_key, source, reason}, and every other column a meter, {@code usage.} prefix optional). Events must lie in the
 * timeframe and carry a time; an event without a source gets the backfill's. Everything else is checked by ingest.
 */
record BackfillFile(List<Line> events) {
    /** At most this many events in one file (they are held in memory): split a larger backfill. */
    static final int MAX_EVENTS = 1_000_000;

    record Line(int number, ObjectNode event) {
        String id() {
            return event.path("id").asText();
        }

        String customer() {
            return event.path("customer").asText();
        }
    }

    private static final Set<String> FIELDS = Set.of("id", "customer", "feature", "model", "time", "user", "api_key", "source", "reason");

    static BackfillFile read(Path file, Instant from, Instant to, String defaultSource) throws IOException {
        List<Line> events = new ArrayList<>();
        List<String> problems = new ArrayList<>();
        try (BufferedReader in = Files.newBufferedReader(file, StandardCharsets.UTF_8)) {
            String first = in.readLine();
            boolean csv = first != null && !first.stripLeading().startsWith("{");
            String[] header = csv ? split(first) : null;
            int number = 1;
            String line = csv ? in.readLine() : first;
            if (csv) {
                number++;
            }
            for (; line != null; line = in.readLine(), number++) {
                if (line.isBlank()) {
                    continue;
                }
                if (events.size() == MAX_EVENTS) {
                    throw new IllegalArgumentException("more than " + MAX_EVENTS + " events: split the file");
                }
                try {
                    ObjectNode event = csv ? fromCsv(header, split(line)) : (ObjectNode) Json.MAPPER.readTree(line);
                    if (!event.hasNonNull("source")) {
                        event.put("source", defaultSource);
                    }
                    Instant time = Instant.parse(event.path("time").asText());
                    if (time.isBefore(from) || !time.isBefore(to)) {
                        problems.add("line " + number + ": time " + time + " is outside the timeframe " + from + " .. " + to);
                    }
                    events.add(new Line(number, event));
                } catch (IOException | ClassCastException | DateTimeParseException | IllegalArgumentException e) {
                    problems.add("line " + number + ": " + (e instanceof DateTimeParseException ? "time is required, e.g. 2026-11-01T10:00:00Z"
                            : e.getMessage() == null ? "not an event" : e.getMessage().lines().findFirst().orElse("")));
                }
            }
        }
        if (!problems.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", problems.subList(0, Math.min(20, problems.size())))
                    + (problems.size() > 20 ? "\n(" + (problems.size() - 20) + " more)" : ""));
        }
        return new BackfillFile(List.copyOf(events));
    }

    private static ObjectNode fromCsv(String[] header, String[] values) {
        if (values.length != header.length) {
            throw new IllegalArgumentException(values.length + " columns, the header has " + header.length);
        }
        ObjectNode event = Json.MAPPER.createObjectNode();
        Map<String, BigDecimal> usage = new TreeMap<>();
        for (int i = 0; i < header.length; i++) {
            String column = header[i].strip();
            String value = values[i];
            if (value.isEmpty()) {
                continue;
            }
            if (FIELDS.contains(column)) {
                event.put(column, value);
            } else {
                usage.put(column.startsWith("usage.") ? column.substring("usage.".length()) : column, new BigDecimal(value.strip()));
            }
        }
        ObjectNode u = event.putObject("usage");
        usage.forEach(u::put);
        return event;
    }

    /** One CSV record (RFC 4180: fields in double quotes may hold commas, and "" for a quote). */
    static String[] split(String line) {
        List<String> fields = new ArrayList<>();
        StringBuilder field = new StringBuilder();
        boolean quoted = false;
        for (int i = 0; i < line.length(); i++) {
            char c = line.charAt(i);
            if (quoted) {
                if (c == '"' && i + 1 < line.length() && line.charAt(i + 1) == '"') {
                    field.append('"');
                    i++;
                } else if (c == '"') {
                    quoted = false;
                } else {
                    field.append(c);
                }
            } else if (c == '"') {
                quoted = true;
            } else if (c == ',') {
                fields.add(field.toString());
                field.setLength(0);
            } else {
                field.append(c);
            }
        }
        fields.add(field.toString());
        return fields.toArray(String[]::new);
    }

    /** Whether two events (as JSON) say the same: what a replacement would change. */
    static boolean same(JsonNode a, JsonNode b) {
        for (String f : List.of("customer", "feature", "model", "user", "api_key", "source")) {
            if (!a.path(f).asText("").equals(b.path(f).asText(""))) {
                return false;
            }
        }
        if (!Instant.parse(a.path("time").asText()).equals(Instant.parse(b.path("time").asText()))) {
            return false;
        }
        Map<String, BigDecimal> ua = usage(a);
        Map<String, BigDecimal> ub = usage(b);
        if (!ua.keySet().equals(ub.keySet())) {
            return false;
        }
        return ua.entrySet().stream().allMatch(e -> e.getValue().compareTo(ub.get(e.getKey())) == 0);
    }

    private static Map<String, BigDecimal> usage(JsonNode event) {
        Map<String, BigDecimal> usage = new TreeMap<>();
        event.path("usage").fields().forEachRemaining(e -> usage.put(e.getKey(), new BigDecimal(e.getValue().asText())));
        return usage;
    }
}

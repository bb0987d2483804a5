package io.capstream.policy.input;

import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.ResetSchedule;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads the primitive values people and programs send (decimals within their bounds, whole numbers,
 * strings, identifiers, labels, timezones, times, thresholds, enums) from a JSON tree, adding every
 * problem with its path to a list of {@link Problem}s instead of throwing. {@link Specs} builds the
 * domain's inputs from these; every reader of outside input uses them, so a rule is written once.
 */
public class Fields {
    public static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}");

    /** {@link #IDENTIFIER}, without a matcher: read on every check and event, so it allocates nothing. */
    public static boolean isIdentifier(String s) {
        if (s.isEmpty() || s.length() > 128 || !alphanumeric(s.charAt(0))) {
            return false;
        }
        for (int i = 1; i < s.length(); i++) {
            char c = s.charAt(i);
            if (!alphanumeric(c) && c != '_' && c != '.' && c != ':' && c != '@' && c != '/' && c != '-') {
                return false;
            }
        }
        return true;
    }

    private static boolean alphanumeric(char c) {
        return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
    }
    /** The areas of IANA region ids ({@code Europe/Berlin}); legacy aliases (SystemV/PST8, US/Pacific) are refused. */
    private static final Set<String> ZONE_AREAS = Set.of("Africa", "America", "Antarctica", "Arctic", "Asia", "Atlantic", "Australia",
            "Europe", "Indian", "Pacific");

    private final List<Problem> problems;

    /** Reads adding problems to a list of its own. */
    public Fields() {
        this(new ArrayList<>());
    }

    /** Reads adding problems to {@code problems}, shared with the caller (the policy loader collects a whole document's). */
    public Fields(List<Problem> problems) {
        this.problems = problems;
    }

    public List<Problem> problems() {
        return problems;
    }

    /** The value read, or {@link InvalidInputException} with every problem found. */
    public <T> T require(Optional<T> value) {
        if (!problems.isEmpty() || value.isEmpty()) {
            throw new InvalidInputException(problems.isEmpty() ? List.of(new Problem("", "the request is not valid")) : problems);
        }
        return value.get();
    }

    public ResetSchedule schedule(String path, JsonNode node, String defaultText) {
        String text = node == null || node.isNull() ? defaultText : node.isTextual() && node.asText().length() <= 32 ? node.asText() : "?";
        try {
            return ResetSchedule.parse(text);
        } catch (IllegalArgumentException e) {
            problems.add(new Problem(path, e.getMessage()));
            return null;
        }
    }

    /** An IANA region id ({@code America/Los_Angeles}, {@code Asia/Kolkata}) or {@code UTC}; offsets and legacy aliases are refused. */
    public ZoneId zone(String path, String text) {
        int slash = text.indexOf('/');
        boolean region = text.equals("UTC") || text.equals("Etc/UTC")
                || (slash > 0 && ZONE_AREAS.contains(text.substring(0, slash)) && ZoneId.getAvailableZoneIds().contains(text));
        if (!region) {
            problems.add(new Problem(path, "'" + text + "' is not an IANA timezone (e.g. America/Los_Angeles, Asia/Kolkata, UTC)"));
            return null;
        }
        return ZoneId.of(text);
    }

    public List<BigDecimal> thresholds(String path, JsonNode node, List<BigDecimal> defaults) {
        if (node == null || node.isNull()) {
            return defaults;
        }
        if (!node.isArray()) {
            problems.add(new Problem(path, "a list of fractions of the limit, e.g. [0.8, 0.9, 1.0]"));
            return null;
        }
        if (node.size() > Bounds.THRESHOLDS) {
            problems.add(new Problem(path, "at most " + Bounds.THRESHOLDS + " thresholds"));
            return null;
        }
        List<BigDecimal> result = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            BigDecimal t = decimal(path + "[" + i + "]", node.get(i), true);
            if (t != null && (t.signum() <= 0 || t.compareTo(BigDecimal.TEN) > 0 || t.scale() > 4)) {
                problems.add(new Problem(path + "[" + i + "]", "a fraction of the limit above 0 and at most 10, with at most 4 decimals (0.8 = 80 %)"));
            } else if (t != null) {
                result.add(t.stripTrailingZeros());
            }
        }
        return result.stream().distinct().sorted().toList();
    }

    /** A money amount (or a meter cap's units) within {@link Decimals#MONEY}. */
    public BigDecimal decimal(String path, JsonNode node, boolean required) {
        return decimal(path, node, required, Decimals.MONEY);
    }

    /** A non-negative decimal, as a JSON string or number, within the bound; every decimal from outside is read here. */
    public BigDecimal decimal(String path, JsonNode node, boolean required, Decimals.Bound bound) {
        if (node == null || node.isNull()) {
            if (required) {
                problems.add(new Problem(path, "required"));
            }
            return null;
        }
        try {
            if (node.isTextual()) {
                return Decimals.parse(node.asText(), bound);
            }
            if (node.isNumber()) {
                return Decimals.check(node.decimalValue(), bound);
            }
            problems.add(new Problem(path, "a decimal number, e.g. \"20.00\""));
        } catch (IllegalArgumentException e) { // Decimals.OutOfBounds, or a JSON number too large for a double (YAML)
            problems.add(new Problem(path, (e instanceof Decimals.OutOfBounds ? e.getMessage() : "'" + node.asText() + "' is not a decimal number")));
        }
        return null;
    }

    /** A decimal that may be negative (an adjustment's quantity): its magnitude within the bound, read as {@link #decimal} reads. */
    public BigDecimal signedDecimal(String path, JsonNode node, boolean required, Decimals.Bound bound) {
        boolean negative = node != null && (node.isTextual() ? node.asText().strip().startsWith("-") : node.isNumber() && node.decimalValue().signum() < 0);
        if (!negative) {
            return decimal(path, node, required, bound);
        }
        JsonNode magnitude = node.isTextual() ? com.fasterxml.jackson.databind.node.TextNode.valueOf(node.asText().strip().substring(1))
                : com.fasterxml.jackson.databind.node.DecimalNode.valueOf(node.decimalValue().negate());
        BigDecimal value = decimal(path, magnitude, required, bound);
        return value == null ? null : value.negate();
    }

    /**
     * A whole number in range, written as a number (not a string, not {@code 1.5}); {@code defaultValue}
     * when absent.
     */
    public int integer(String path, JsonNode node, int min, int max, int defaultValue, String expected) {
        if (node == null || node.isNull()) {
            return defaultValue;
        }
        if (!node.isIntegralNumber() || !node.canConvertToLong() || node.longValue() < min || node.longValue() > max) {
            problems.add(new Problem(path, expected));
            return defaultValue;
        }
        return node.intValue();
    }

    public String identifier(String path, JsonNode node, boolean required) {
        if (node == null || node.isNull()) {
            if (required) {
                problems.add(new Problem(path, "required"));
            }
            return null;
        }
        if (!node.isTextual() || !isIdentifier(node.asText())) {
            problems.add(new Problem(path, "letters, digits and _ . : @ / - (at most 128)"));
            return null;
        }
        return node.asText();
    }

    public String text(String path, JsonNode node) {
        return text(path, node, 512);
    }

    /** A string of at most {@code max} characters (numbers and booleans are not strings). */
    public String text(String path, JsonNode node, int max) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isTextual() || node.asText().length() > max) {
            problems.add(new Problem(path, "a string of at most " + max + " characters"));
            return null;
        }
        if (!wellFormed(node.asText())) {
            problems.add(new Problem(path, "not valid Unicode (half of a surrogate pair); it cannot be stored as it was sent"));
            return null;
        }
        return node.asText();
    }

    /** Whether every surrogate is half of a pair: only such text survives UTF-8 (Kafka, Avro) unchanged. */
    static boolean wellFormed(String text) {
        for (int i = 0; i < text.length(); i++) {
            char c = text.charAt(i);
            if (Character.isHighSurrogate(c) && i + 1 < text.length() && Character.isLowSurrogate(text.charAt(i + 1))) {
                i++;
            } else if (Character.isSurrogate(c)) {
                return false;
            }
        }
        return true;
    }

    /** A label shown to people: one printable line without links ({@link Bounds#labelProblem}). */
    public String label(String path, JsonNode node) {
        String label = text(path, node, Bounds.LABEL);
        String problem = label == null ? null : Bounds.labelProblem(label);
        if (problem != null) {
            problems.add(new Problem(path, problem));
            return null;
        }
        return label == null ? null : label.strip();
    }

    public boolean bool(String path, JsonNode node, boolean defaultValue) {
        if (node == null || node.isNull()) {
            return defaultValue;
        }
        if (!node.isBoolean()) {
            problems.add(new Problem(path, "true or false"));
            return defaultValue;
        }
        return node.asBoolean();
    }

    public Instant time(String path, JsonNode node) {
        try {
            return Times.parse(node.isTextual() ? node.asText() : null);
        } catch (IllegalArgumentException e) {
            problems.add(new Problem(path, e.getMessage()));
            return null;
        }
    }

    /** One of the actions a kind of limit allows ({@link LimitAction#CAP}, {@link LimitAction#ENTITLEMENT}). */
    public LimitAction action(String path, JsonNode node, List<LimitAction> allowed, LimitAction defaultValue) {
        if (node == null || node.isNull()) {
            return defaultValue;
        }
        Optional<LimitAction> action = allowed.stream().filter(a -> node.isTextual() && a.name().equalsIgnoreCase(node.asText())).findFirst();
        if (action.isEmpty()) {
            problems.add(new Problem(path, "one of " + allowed.stream().map(a -> a.name().toLowerCase(Locale.ROOT)).toList()));
        }
        return action.orElse(null);
    }

    public <E extends Enum<E>> E enumValue(String path, JsonNode node, Class<E> type, E defaultValue) {
        if (node == null || node.isNull()) {
            return defaultValue;
        }
        try {
            if (!node.isTextual()) {
                throw new IllegalArgumentException("not a string");
            }
            return Enum.valueOf(type, node.asText().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            problems.add(new Problem(path, "one of " + java.util.Arrays.stream(type.getEnumConstants())
                    .map(c -> c.name().toLowerCase(Locale.ROOT)).toList()));
            return null;
        }
    }

    public boolean object(String path, JsonNode node) {
        if (node == null || !node.isObject()) {
            problems.add(new Problem(path, "must be an object"));
            return false;
        }
        return true;
    }

    public void unknown(String path, JsonNode node, Set<String> known) {
        String expected = null; // one message for all of a node's unknown fields: a hostile body can hold tens of thousands
        for (java.util.Iterator<String> names = node.fieldNames(); names.hasNext(); ) {
            String f = names.next();
            if (!known.contains(f)) {
                if (expected == null) {
                    expected = "unknown field (expected one of " + new java.util.TreeSet<>(known) + ")";
                }
                problems.add(new Problem(path.isEmpty() ? f : path + "." + f, expected));
            }
        }
    }
}


package io.capstream.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.policy.input.Bounds;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.input.Specs;
import io.capstream.policy.catalogue.UnpriceableUsageException;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Turns a request body into usage events, in the native form or as CloudEvents (DESIGN 5), and finds
 * every problem in it with the policy module's readers ({@link Specs}: the same identifier rule,
 * bounds and messages as every other input). Either all events are valid, or the list of
 * {@link FieldError}s names each bad event by index and field.
 */
final class EventParser {
    /** CloudEvents extension attribute names (spec: lower-case letters and digits); they are accepted and ignored. */
    private static final Pattern EXTENSION = Pattern.compile("[a-z0-9]{1,20}");
    static final int MAX_TEXT = 256;
    private static final Set<String> NATIVE_FIELDS =
            Set.of("id", "source", "customer", "user", "api_key", "feature", "model", "time", "usage", "reservation_id", "reason");
    private static final Set<String> DATA_FIELDS = Set.of("user", "api_key", "feature", "model", "usage", "reservation_id", "reason");
    private static final Set<String> CLOUDEVENT_FIELDS =
            Set.of("specversion", "id", "source", "type", "subject", "time", "datacontenttype", "dataschema", "data");

    /** The parsed events, or the problems found; exactly one of the two is non-empty for a non-empty body. */
    record Result(List<UsageEvent> events, List<FieldError> errors) {}

    enum Form { NATIVE, CLOUDEVENT }

    private final EventTimeWindow window;
    private final Supplier<Optional<PolicyDocument>> policy;

    /**
     * @param policy the policy in force, if one was applied: events it cannot price (an unknown model, a
     *               meter without a price, a cost finer than money is kept) are refused here, naming the
     *               field, rather than dead-lettered later
     */
    EventParser(EventTimeWindow window, Supplier<Optional<PolicyDocument>> policy) {
        this.window = window;
        this.policy = policy;
    }

    Result parse(JsonNode body, Form form, Instant receivedAt) {
        List<JsonNode> items = new ArrayList<>();
        if (body.isArray()) {
            body.forEach(items::add);
        } else {
            items.add(body);
        }
        List<UsageEvent> events = new ArrayList<>(items.size());
        List<FieldError> errors = new ArrayList<>();
        Optional<PolicyDocument> prices = policy.get();
        for (int i = 0; i < items.size(); i++) {
            Specs specs = new Specs();
            Reader reader = new Reader(specs, prices);
            UsageEvent event = form == Form.NATIVE ? reader.nativeEvent(items.get(i), receivedAt) : reader.cloudEvent(items.get(i), receivedAt);
            int index = i;
            specs.problems().forEach(p -> errors.add(new FieldError(index, p.field(), p.message())));
            if (event != null && specs.problems().isEmpty()) {
                events.add(event);
            }
        }
        return errors.isEmpty() ? new Result(events, List.of()) : new Result(List.of(), errors);
    }

    private static final Set<String> VOID_FIELDS = Set.of("customer", "source", "reason");

    /** A void of the event (customer, source, id): {@code {"customer", "source", "reason"}}. */
    Result parseVoid(String id, JsonNode body, Instant receivedAt) {
        Specs specs = new Specs();
        specs.unknown("", body, VOID_FIELDS);
        String customer = specs.identifier("customer", body.get("customer"), true);
        String source = Optional.ofNullable(specs.text("source", body.get("source"), MAX_TEXT)).orElse("");
        String reason = specs.text("reason", body.get("reason"), MAX_TEXT);
        if (!specs.problems().isEmpty()) {
            return new Result(List.of(), specs.problems().stream().map(p -> new FieldError(0, p.field(), p.message())).toList());
        }
        return new Result(List.of(UsageEvent.newBuilder().setId(id).setSource(source).setCustomer(customer).setFeature("").setTime(receivedAt)
                .setUsage(List.of()).setAmendment("void").setReason(reason).build()), List.of());
    }

    /** Reads one event, adding its problems to its {@link Specs}. */
    private final class Reader {
        private final Specs specs;
        private final Optional<PolicyDocument> prices;

        Reader(Specs specs, Optional<PolicyDocument> prices) {
            this.specs = specs;
            this.prices = prices;
        }

        UsageEvent nativeEvent(JsonNode node, Instant receivedAt) {
            if (!node.isObject()) {
                return fail("", "each event must be a JSON object");
            }
            specs.unknown("", node, NATIVE_FIELDS);
            return build(node, "", required(node, "id"), Optional.ofNullable(specs.text("source", node.get("source"), MAX_TEXT)).orElse(""),
                    specs.identifier("customer", node.get("customer"), true), node.get("time"), receivedAt);
        }

        UsageEvent cloudEvent(JsonNode node, Instant receivedAt) {
            if (!node.isObject()) {
                return fail("", "each CloudEvent must be a JSON object");
            }
            node.fieldNames().forEachRemaining(f -> {
                if (!CLOUDEVENT_FIELDS.contains(f) && !(EXTENSION.matcher(f).matches() && node.get(f).isValueNode())) {
                    fail(f, "unknown attribute (extension attributes are lower-case letters and digits, at most 20, with a plain value)");
                }
            });
            if (!"1.0".equals(specs.text("specversion", node.get("specversion"), MAX_TEXT))) {
                fail("specversion", "must be \"1.0\"");
            }
            JsonNode data = node.get("data");
            if (data == null || !data.isObject()) {
                return fail("data", "required: an object with feature and usage");
            }
            specs.unknown("data", data, DATA_FIELDS);
            return build(data, "data.", required(node, "id"), required(node, "source"), specs.identifier("subject", node.get("subject"), true),
                    node.get("time"), receivedAt);
        }

        private UsageEvent build(JsonNode data, String dataPath, String id, String source, String customer, JsonNode timeNode, Instant receivedAt) {
            String feature = specs.identifier(dataPath + "feature", data.get("feature"), true);
            String model = specs.identifier(dataPath + "model", data.get("model"), false);
            String user = specs.text(dataPath + "user", data.get("user"), MAX_TEXT);
            String apiKey = specs.text(dataPath + "api_key", data.get("api_key"), MAX_TEXT);
            String reservation = specs.text(dataPath + "reservation_id", data.get("reservation_id"), MAX_TEXT);
            String reason = specs.text(dataPath + "reason", data.get("reason"), MAX_TEXT);
            Map<String, BigDecimal> usage = usage(data.get("usage"), dataPath + "usage", reason != null);
            Instant time = time(timeNode, receivedAt);
            if (!specs.problems().isEmpty()) {
                return null;
            }
            if (prices.isPresent()) {
                try {
                    Pricing.cost(prices.get(), model, usage);
                } catch (UnpriceableUsageException e) {
                    return fail(e.field().equals("model") ? dataPath + "model" : dataPath + e.field(), e.reason());
                }
            }
            return UsageEvent.newBuilder()
                    .setId(id).setSource(source).setCustomer(customer).setUser(user).setApiKey(apiKey)
                    .setFeature(feature).setModel(model).setTime(time).setReservationId(reservation).setReason(reason)
                    .setUsage(usage.entrySet().stream().map(q -> new Quantity(q.getKey(), null, Decimals.quantity(q.getValue()))).toList())
                    .build();
        }

        /**
         * @param adjustment the event has a reason: its quantities may be negative (a correction taking usage back), all
         *                   of them then, as a positive correction is an ordinary event
         */
        private Map<String, BigDecimal> usage(JsonNode node, String path, boolean adjustment) {
            Map<String, BigDecimal> usage = new LinkedHashMap<>();
            if (node == null || !node.isObject() || node.isEmpty()) {
                fail(path, "required: an object of meter to quantity, e.g. {\"input_tokens\": 1200}");
            } else if (node.size() > Bounds.METERS) {
                fail(path, "at most " + Bounds.METERS + " meters in one event");
            } else {
                node.fields().forEachRemaining(e -> {
                    String field = path + "." + e.getKey();
                    if (!Specs.isIdentifier(e.getKey())) {
                        fail(field, "meter names are letters, digits and _ . : @ / -");
                    } else {
                        Optional.ofNullable(adjustment ? specs.signedDecimal(field, e.getValue(), true, Decimals.QUANTITY)
                                : specs.decimal(field, e.getValue(), true, Decimals.QUANTITY)).ifPresent(q -> usage.put(e.getKey(), q));
                    }
                });
                boolean negative = usage.values().stream().anyMatch(q -> q.signum() < 0);
                if (negative && usage.values().stream().anyMatch(q -> q.signum() > 0)) {
                    fail(path, "an adjustment's quantities are all negative (or zero): a positive correction is an ordinary event");
                }
            }
            return usage;
        }

        private Instant time(JsonNode node, Instant receivedAt) {
            if (node == null || node.isNull()) {
                return receivedAt;
            }
            Instant time = specs.time("time", node);
            if (time == null) {
                return receivedAt;
            }
            window.rejection(time, receivedAt).ifPresent(reason -> fail("time", reason));
            return time;
        }

        /** A required, non-blank string of at most {@value #MAX_TEXT} characters. */
        private String required(JsonNode node, String name) {
            JsonNode value = node.get(name);
            if (value == null || value.isNull() || (value.isTextual() && value.asText().isBlank())) {
                fail(name, "required");
                return null;
            }
            return specs.text(name, value, MAX_TEXT);
        }

        private UsageEvent fail(String field, String message) {
            specs.problems().add(new io.capstream.policy.input.Problem(field, message));
            return null;
        }
    }
}

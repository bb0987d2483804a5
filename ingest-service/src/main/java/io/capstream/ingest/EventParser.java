package io.capstream.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.policy.Bounds;
import io.capstream.policy.Decimals;
import io.capstream.policy.EventTimeWindow;
import io.capstream.policy.PolicyDocument;
import io.capstream.policy.Pricing;
import io.capstream.policy.Times;
import io.capstream.policy.UnpriceableUsageException;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.function.Supplier;
import java.util.regex.Pattern;

/**
 * Turns a request body into usage events, in the native form or as CloudEvents (DESIGN 5), and finds
 * every problem in it. Either all events are valid, or the list of {@link FieldError}s names each
 * bad event by index and field.
 */
final class EventParser {
    /** Ids of customers, features, models, meters: no separator characters, so they can be part of keys. */
    private static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}");
    /** CloudEvents extension attribute names (spec: lower-case letters and digits); they are accepted and ignored. */
    private static final Pattern EXTENSION = Pattern.compile("[a-z0-9]{1,20}");
    private static final Set<String> NATIVE_FIELDS =
            Set.of("id", "source", "customer", "user", "api_key", "feature", "model", "time", "usage", "reservation_id");
    private static final Set<String> DATA_FIELDS = Set.of("user", "api_key", "feature", "model", "usage", "reservation_id");
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
            Reader reader = new Reader(i, errors, prices);
            UsageEvent event = form == Form.NATIVE ? reader.nativeEvent(items.get(i), receivedAt) : reader.cloudEvent(items.get(i), receivedAt);
            if (event != null) {
                events.add(event);
            }
        }
        return errors.isEmpty() ? new Result(events, List.of()) : new Result(List.of(), errors);
    }

    /** Reads one event, adding its problems to the shared list. */
    private final class Reader {
        private final int index;
        private final List<FieldError> errors;
        private final int errorsBefore;
        private final Optional<PolicyDocument> prices;

        Reader(int index, List<FieldError> errors, Optional<PolicyDocument> prices) {
            this.index = index;
            this.errors = errors;
            this.errorsBefore = errors.size();
            this.prices = prices;
        }

        UsageEvent nativeEvent(JsonNode node, Instant receivedAt) {
            if (!node.isObject()) {
                return fail("", "each event must be a JSON object");
            }
            unknown(node, NATIVE_FIELDS, "");
            return build(node, "", text(node, "id", true), optionalText(node, "source", "source").orElse(""),
                    identifier(node, "customer", "customer", true), node.get("time"), "time", receivedAt);
        }

        UsageEvent cloudEvent(JsonNode node, Instant receivedAt) {
            if (!node.isObject()) {
                return fail("", "each CloudEvent must be a JSON object");
            }
            node.fieldNames().forEachRemaining(f -> {
                if (!CLOUDEVENT_FIELDS.contains(f) && !(EXTENSION.matcher(f).matches() && node.get(f).isValueNode())) {
                    error(f, "unknown attribute (extension attributes are lower-case letters and digits, at most 20, with a plain value)");
                }
            });
            String version = optionalText(node, "specversion", "specversion").orElse(null);
            if (!"1.0".equals(version)) {
                error("specversion", "must be \"1.0\"");
            }
            JsonNode data = node.get("data");
            if (data == null || !data.isObject()) {
                return fail("data", "required: an object with feature and usage");
            }
            unknown(data, DATA_FIELDS, "data.");
            return build(data, "data.", text(node, "id", true), text(node, "source", true),
                    identifier(node, "subject", "subject", true), node.get("time"), "time", receivedAt);
        }

        private UsageEvent build(JsonNode data, String dataPath, String id, String source,
                                 String customer, JsonNode timeNode, String timeField, Instant receivedAt) {
            String feature = identifier(data, "feature", dataPath + "feature", true);
            String model = identifier(data, "model", dataPath + "model", false);
            String user = optionalText(data, "user", dataPath + "user").orElse(null);
            String apiKey = optionalText(data, "api_key", dataPath + "api_key").orElse(null);
            String reservation = optionalText(data, "reservation_id", dataPath + "reservation_id").orElse(null);
            List<Quantity> usage = usage(data.get("usage"), dataPath + "usage");
            Instant time = time(timeNode, timeField, receivedAt);
            if (errors.size() > errorsBefore) {
                return null;
            }
            if (prices.isPresent()) {
                Map<String, BigDecimal> quantities = new java.util.LinkedHashMap<>();
                usage.forEach(q -> quantities.put(q.getMeter(), q.getQuantity()));
                try {
                    Pricing.cost(prices.get(), model, quantities);
                } catch (UnpriceableUsageException e) {
                    String field = e.field().equals("model") ? dataPath + "model" : dataPath + e.field();
                    return fail(field, e.getMessage().substring(e.field().length() + 2));
                }
            }
            return UsageEvent.newBuilder()
                    .setId(id).setSource(source).setCustomer(customer).setUser(user).setApiKey(apiKey)
                    .setFeature(feature).setModel(model).setTime(time).setUsage(usage).setReservationId(reservation)
                    .build();
        }

        private List<Quantity> usage(JsonNode node, String path) {
            if (node == null || !node.isObject() || node.isEmpty()) {
                error(path, "required: an object of meter to quantity, e.g. {\"input_tokens\": 1200}");
                return List.of();
            }
            if (node.size() > Bounds.METERS) {
                error(path, "at most " + Bounds.METERS + " meters in one event");
                return List.of();
            }
            List<Quantity> quantities = new ArrayList<>();
            for (Iterator<Map.Entry<String, JsonNode>> it = node.fields(); it.hasNext(); ) {
                Map.Entry<String, JsonNode> e = it.next();
                String field = path + "." + e.getKey();
                if (!IDENTIFIER.matcher(e.getKey()).matches()) {
                    error(field, "meter names are letters, digits and _ . : @ / -");
                    continue;
                }
                quantity(e.getValue(), field).ifPresent(q -> quantities.add(new Quantity(e.getKey(), null, Decimals.quantity(q))));
            }
            return quantities;
        }

        private Optional<BigDecimal> quantity(JsonNode value, String field) {
            try {
                if (value.isNumber()) {
                    return Optional.of(Decimals.check(value.decimalValue(), Decimals.QUANTITY));
                }
                if (value.isTextual()) {
                    return Optional.of(Decimals.parse(value.asText(), Decimals.QUANTITY));
                }
                error(field, "must be a number");
            } catch (IllegalArgumentException e) {
                error(field, e instanceof Decimals.OutOfBounds ? e.getMessage() : "'" + value.asText() + "' is not a number");
            }
            return Optional.empty();
        }

        private Instant time(JsonNode node, String field, Instant receivedAt) {
            if (node == null || node.isNull()) {
                return receivedAt;
            }
            Instant time;
            try {
                time = Times.parse(node.isTextual() ? node.asText() : null);
            } catch (IllegalArgumentException e) {
                error(field, "must be " + e.getMessage());
                return receivedAt;
            }
            window.rejection(time, receivedAt).ifPresent(reason -> error(field, reason));
            return time;
        }

        private String identifier(JsonNode node, String name, String path, boolean required) {
            JsonNode value = node.get(name);
            if (value == null || value.isNull()) {
                if (required) {
                    error(path, "required");
                }
                return null;
            }
            if (!value.isTextual() || !IDENTIFIER.matcher(value.asText()).matches()) {
                error(path, "must be a string of letters, digits and _ . : @ / - (at most 128)");
                return null;
            }
            return value.asText();
        }

        private String text(JsonNode node, String name, boolean required) {
            JsonNode value = node.get(name);
            if (value == null || value.isNull() || (value.isTextual() && value.asText().isBlank())) {
                if (required) {
                    error(name, "required");
                }
                return null;
            }
            if (!value.isTextual() || value.asText().length() > 256) {
                error(name, "must be a string of at most 256 characters");
                return null;
            }
            return value.asText();
        }

        private Optional<String> optionalText(JsonNode node, String name, String path) {
            JsonNode value = node.get(name);
            if (value == null || value.isNull()) {
                return Optional.empty();
            }
            if (!value.isTextual() || value.asText().length() > 256) {
                error(path, "must be a string of at most 256 characters");
                return Optional.empty();
            }
            return Optional.of(value.asText());
        }

        private void unknown(JsonNode node, Set<String> known, String prefix) {
            node.fieldNames().forEachRemaining(f -> {
                if (!known.contains(f)) {
                    error(prefix + f, "unknown field");
                }
            });
        }

        private UsageEvent fail(String field, String message) {
            error(field, message);
            return null;
        }

        private void error(String field, String message) {
            errors.add(new FieldError(index, field, message));
        }
    }
}

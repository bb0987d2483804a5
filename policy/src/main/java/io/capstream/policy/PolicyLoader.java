package io.capstream.policy;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * Reads a policy document from YAML (or JSON) and validates it, reporting every error at once with
 * its path ({@code models.gpt-4o.prices.input_tokens: ...}).
 */
public final class PolicyLoader {
    private static final ObjectMapper YAML = new ObjectMapper(new YAMLFactory());
    private static final Set<String> MODEL_FIELDS = Set.of("prices", "tier", "downgrade_to");
    private static final Set<String> METER_FIELDS = Set.of("price", "unit");

    private PolicyLoader() {}

    public static PolicyDocument fromYaml(String text) {
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new PolicyValidationException(List.of("document: not valid YAML: " + e.getOriginalMessage()));
        }
        if (root == null || !root.isObject()) {
            throw new PolicyValidationException(List.of("document: must be a mapping with 'models' and 'meters'"));
        }
        List<String> errors = new ArrayList<>();
        Map<String, Model> models = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(root, "models", errors)) {
            model("models." + e.getKey(), e.getKey(), e.getValue(), errors).ifPresent(m -> models.put(m.name(), m));
        }
        Map<String, Meter> meters = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(root, "meters", errors)) {
            meter("meters." + e.getKey(), e.getKey(), e.getValue(), errors).ifPresent(m -> meters.put(m.name(), m));
        }
        for (Model m : models.values()) {
            m.downgradeTo().filter(target -> !models.containsKey(target)).ifPresent(target ->
                    errors.add("models." + m.name() + ".downgrade_to: unknown model '" + target + "'"));
        }
        if (!errors.isEmpty()) {
            throw new PolicyValidationException(errors);
        }
        return new PolicyDocument(models, meters);
    }

    private static List<Map.Entry<String, JsonNode>> fields(JsonNode node, String name, List<String> errors) {
        JsonNode child = node.get(name);
        if (child == null || child.isNull()) {
            return List.of();
        }
        if (!child.isObject()) {
            errors.add(name + ": must be a mapping");
            return List.of();
        }
        List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
        child.fields().forEachRemaining(entries::add);
        return entries;
    }

    private static Optional<Model> model(String path, String name, JsonNode node, List<String> errors) {
        if (!node.isObject()) {
            errors.add(path + ": must be a mapping with 'prices'");
            return Optional.empty();
        }
        unknownFields(path, node, MODEL_FIELDS, errors);
        Map<String, UnitPrice> prices = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(node, "prices", errors)) {
            price(path + ".prices." + e.getKey(), e.getValue(), errors).ifPresent(p -> prices.put(e.getKey(), p));
        }
        if (!node.has("prices")) {
            errors.add(path + ".prices: required");
        }
        String tier = node.path("tier").asText("standard");
        Optional<String> downgrade = Optional.ofNullable(node.get("downgrade_to")).map(JsonNode::asText);
        return Optional.of(new Model(name, prices, tier, downgrade));
    }

    private static Optional<Meter> meter(String path, String name, JsonNode node, List<String> errors) {
        if (!node.isObject() || !node.has("price")) {
            errors.add(path + ".price: required");
            return Optional.empty();
        }
        unknownFields(path, node, METER_FIELDS, errors);
        return price(path + ".price", node.get("price"), errors).map(p -> new Meter(name, p));
    }

    private static Optional<UnitPrice> price(String path, JsonNode node, List<String> errors) {
        if (!node.isTextual()) {
            errors.add(path + ": write prices as strings (\"2.50/1M\"), never as floating-point numbers");
            return Optional.empty();
        }
        try {
            return Optional.of(UnitPrice.parse(node.asText()));
        } catch (IllegalArgumentException e) {
            errors.add(path + ": " + e.getMessage());
            return Optional.empty();
        }
    }

    private static void unknownFields(String path, JsonNode node, Set<String> known, List<String> errors) {
        node.fieldNames().forEachRemaining(f -> {
            if (!known.contains(f)) {
                errors.add(path + "." + f + ": unknown field (expected one of " + known + ")");
            }
        });
    }
}

package io.capstream.policy.catalogue;

import io.capstream.policy.input.Bounds;
import io.capstream.policy.input.Problem;
import io.capstream.policy.input.Specs;
import io.capstream.policy.runaway.RunawayRule;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.Entitlement;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;

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
    /** Duplicate keys are an error (a second {@code default_plan} silently winning is how policies go wrong). */
    private static final ObjectMapper YAML = new ObjectMapper(YAMLFactory.builder()
            .enable(com.fasterxml.jackson.core.StreamReadFeature.STRICT_DUPLICATE_DETECTION)
            .streamReadConstraints(com.fasterxml.jackson.core.StreamReadConstraints.builder()
                    .maxNestingDepth(32).maxNumberLength(64).maxStringLength(1 << 20).build())
            .build());
    /** Largest policy document read (YAML source). */
    public static final int MAX_SOURCE = 1 << 20;
    private static final Set<String> MODEL_FIELDS = Set.of("prices", "tier", "downgrade_to");
    private static final Set<String> METER_FIELDS = Set.of("price", "unit");
    private static final Set<String> TOP_FIELDS = Set.of("models", "meters", "plans", "links", "default_plan");
    private static final Set<String> PLAN_FIELDS = Set.of("price", "model_tiers", "rate_limits", "entitlements", "default_caps", "fail_open", "runaway");
    private static final Set<String> ENTITLEMENT_FIELDS = Set.of("measure", "included", "period", "over", "warn_at");
    private static final Set<String> LINK_FIELDS = Set.of("raise_cap", "upgrade", "top_up");

    private PolicyLoader() {}

    public static PolicyDocument fromYaml(String text) {
        if (text.length() > MAX_SOURCE) {
            throw new PolicyValidationException(List.of(new Problem("document", "at most " + MAX_SOURCE + " characters")));
        }
        JsonNode root;
        try {
            root = YAML.readTree(text);
        } catch (JsonProcessingException e) {
            throw new PolicyValidationException(List.of(new Problem("document", "not valid YAML: " + e.getOriginalMessage())));
        }
        if (root == null || !root.isObject()) {
            throw new PolicyValidationException(List.of(new Problem("document", "must be a mapping with models, meters, plans and links")));
        }
        List<Problem> problems = new ArrayList<>();
        Map<String, Model> models = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(root, "models", problems)) {
            model("models." + e.getKey(), e.getKey(), e.getValue(), problems).ifPresent(m -> models.put(m.name(), m));
        }
        Map<String, Meter> meters = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(root, "meters", problems)) {
            meter("meters." + e.getKey(), e.getKey(), e.getValue(), problems).ifPresent(m -> meters.put(m.name(), m));
        }
        for (Model m : models.values()) {
            m.downgradeTo().filter(target -> !models.containsKey(target)).ifPresent(target ->
                    problems.add(new Problem("models." + m.name() + ".downgrade_to", "unknown model '" + target + "'")));
        }
        downgradeCycles(models, problems);
        Specs specs = new Specs(problems);
        specs.unknown("document", root, TOP_FIELDS);
        PolicyDocument catalogue = new PolicyDocument(models, meters);
        Map<String, Plan> plans = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(root, "plans", problems)) {
            plan("plans." + e.getKey(), e.getKey(), e.getValue(), specs, catalogue).ifPresent(p -> plans.put(p.name(), p));
        }
        Links links = Links.NONE;
        JsonNode linksNode = root.get("links");
        if (linksNode != null && specs.object("links", linksNode)) {
            specs.unknown("links", linksNode, LINK_FIELDS);
            links = new Links(Optional.ofNullable(specs.text("links.raise_cap", linksNode.get("raise_cap"))),
                    Optional.ofNullable(specs.text("links.upgrade", linksNode.get("upgrade"))),
                    Optional.ofNullable(specs.text("links.top_up", linksNode.get("top_up"))));
        }
        Optional<String> defaultPlan = Optional.ofNullable(specs.text("default_plan", root.get("default_plan")));
        defaultPlan.filter(p -> !plans.containsKey(p)).ifPresent(p -> problems.add(new Problem("default_plan", "unknown plan '" + p + "'")));
        if (!problems.isEmpty()) {
            throw new PolicyValidationException(problems);
        }
        return new PolicyDocument(models, meters, plans, links, defaultPlan);
    }

    /** Refuses {@code downgrade_to} chains that come back to a model (a self-loop included), naming the cycle once. */
    private static void downgradeCycles(Map<String, Model> models, List<Problem> problems) {
        Set<String> reported = new java.util.HashSet<>();
        for (Model start : models.values()) {
            List<String> path = new ArrayList<>(List.of(start.name()));
            Optional<String> next = start.downgradeTo();
            while (next.isPresent() && models.containsKey(next.get()) && !path.contains(next.get())) {
                path.add(next.get());
                next = models.get(next.get()).downgradeTo();
            }
            if (next.isPresent() && next.get().equals(start.name()) && java.util.Collections.disjoint(reported, path)) {
                reported.addAll(path);
                problems.add(new Problem("models." + start.name() + ".downgrade_to", "a cycle, " + String.join(" → ", path) + " → " + start.name()
                        + "; a downgrade chain must end at a model without downgrade_to"));
            }
        }
    }

    private static List<Map.Entry<String, JsonNode>> fields(JsonNode node, String name, List<Problem> problems) {
        JsonNode child = node.get(name);
        if (child == null || child.isNull()) {
            return List.of();
        }
        if (!child.isObject()) {
            problems.add(new Problem(name, "must be a mapping"));
            return List.of();
        }
        List<Map.Entry<String, JsonNode>> entries = new ArrayList<>();
        child.fields().forEachRemaining(entries::add);
        return entries;
    }

    private static Optional<Model> model(String path, String name, JsonNode node, List<Problem> problems) {
        if (!node.isObject()) {
            problems.add(new Problem(path, "must be a mapping with 'prices'"));
            return Optional.empty();
        }
        unknownFields(path, node, MODEL_FIELDS, problems);
        Map<String, UnitPrice> prices = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(node, "prices", problems)) {
            price(path + ".prices." + e.getKey(), e.getValue(), problems).ifPresent(p -> prices.put(e.getKey(), p));
        }
        if (!node.has("prices")) {
            problems.add(new Problem(path + ".prices", "required"));
        }
        Specs specs = new Specs(problems);
        String tier = Optional.ofNullable(specs.identifier(path + ".tier", node.get("tier"), false)).orElse("standard");
        Optional<String> downgrade = Optional.ofNullable(specs.identifier(path + ".downgrade_to", node.get("downgrade_to"), false));
        return Optional.of(new Model(name, prices, tier, downgrade));
    }

    private static Optional<Plan> plan(String path, String name, JsonNode node, Specs specs, PolicyDocument catalogue) {
        if (!specs.object(path, node)) {
            return Optional.empty();
        }
        List<Problem> problems = specs.problems();
        specs.unknown(path, node, PLAN_FIELDS);
        java.math.BigDecimal price = node.has("price") ? specs.decimal(path + ".price", node.get("price"), true) : java.math.BigDecimal.ZERO;
        Set<String> tiers = new java.util.LinkedHashSet<>();
        JsonNode tiersNode = node.get("model_tiers");
        if (tiersNode != null && tiersNode.isArray()) {
            for (int i = 0; i < tiersNode.size(); i++) {
                Optional.ofNullable(specs.identifier(path + ".model_tiers[" + i + "]", tiersNode.get(i), true)).ifPresent(tiers::add);
            }
        } else if (tiersNode != null) {
            problems.add(new Problem(path + ".model_tiers", "a list of tiers, e.g. [standard, premium]"));
        } else {
            catalogue.models().values().forEach(m -> tiers.add(m.tier()));
        }
        Map<String, Integer> rateLimits = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(node, "rate_limits", problems)) {
            int perMinute = specs.integer(path + ".rate_limits." + e.getKey(), e.getValue(), 1, 10_000_000, 0,
                    "a positive whole number of requests per minute, at most 10000000");
            if (perMinute > 0) {
                rateLimits.put(e.getKey(), perMinute);
            }
        }
        Map<String, Entitlement> entitlements = new LinkedHashMap<>();
        for (Map.Entry<String, JsonNode> e : fields(node, "entitlements", problems)) {
            String p = path + ".entitlements." + e.getKey();
            JsonNode en = e.getValue();
            if (!specs.object(p, en)) {
                continue;
            }
            specs.unknown(p, en, ENTITLEMENT_FIELDS);
            Measure measure = Measure.of(specs.text(p + ".measure", en.get("measure")));
            if (!catalogue.knowsMeasure(measure)) {
                problems.add(new Problem(p + ".measure", "'" + measure + "' is neither USD nor a priced meter"));
            }
            java.math.BigDecimal included = specs.decimal(p + ".included", en.get("included"), true);
            ResetSchedule period = specs.schedule(p + ".period", en.get("period"), "billing");
            LimitAction over = specs.action(p + ".over", en.get("over"), LimitAction.ENTITLEMENT, LimitAction.BILL_OVERAGE);
            List<java.math.BigDecimal> warnAt = specs.thresholds(p + ".warn_at", en.get("warn_at"), Cap.DEFAULT_THRESHOLDS);
            if (included != null && period != null && over != null && warnAt != null) {
                entitlements.put(e.getKey(), new Entitlement(e.getKey(), measure, included, period, over, warnAt));
            }
        }
        List<Cap> defaultCaps = new java.util.ArrayList<>();
        JsonNode capsNode = node.get("default_caps");
        if (capsNode != null && !capsNode.isArray()) {
            problems.add(new Problem(path + ".default_caps", "a list of caps"));
        } else if (capsNode != null && capsNode.size() > Bounds.CAPS_PER_PLAN) {
            problems.add(new Problem(path + ".default_caps", "at most " + Bounds.CAPS_PER_PLAN + " caps"));
        } else if (capsNode != null) {
            for (int i = 0; i < capsNode.size(); i++) {
                specs.cap(path + ".default_caps[" + i + "]", capsNode.get(i), null).ifPresent(defaultCaps::add);
            }
        }
        boolean failOpen = specs.bool(path + ".fail_open", node.get("fail_open"), price != null && price.signum() > 0);
        // a plan's block on top of the defaults; a customer's overrides.runaway goes on top of it (Customer.runawayRule)
        Optional<RunawayRule> runaway = specs.runaway(path + ".runaway", node.get("runaway"), false).flatMap(r -> r.over(Optional.empty()));
        return price == null ? Optional.empty()
                : Optional.of(new Plan(name, price, tiers, rateLimits, entitlements, defaultCaps, failOpen, List.of(), runaway));
    }

    private static Optional<Meter> meter(String path, String name, JsonNode node, List<Problem> problems) {
        if (!node.isObject() || !node.has("price")) {
            problems.add(new Problem(path + ".price", "required"));
            return Optional.empty();
        }
        unknownFields(path, node, METER_FIELDS, problems);
        return price(path + ".price", node.get("price"), problems).map(p -> new Meter(name, p));
    }

    private static Optional<UnitPrice> price(String path, JsonNode node, List<Problem> problems) {
        if (!node.isTextual()) {
            problems.add(new Problem(path, "write prices as strings (\"2.50/1M\"), never as floating-point numbers"));
            return Optional.empty();
        }
        try {
            return Optional.of(UnitPrice.parse(node.asText()));
        } catch (IllegalArgumentException e) {
            problems.add(new Problem(path, "" + e.getMessage()));
            return Optional.empty();
        }
    }

    private static void unknownFields(String path, JsonNode node, Set<String> known, List<Problem> problems) {
        String expected = "unknown field (expected one of " + known + ")";
        node.fieldNames().forEachRemaining(f -> {
            if (!known.contains(f)) {
                problems.add(new Problem(path + "." + f, expected));
            }
        });
    }
}

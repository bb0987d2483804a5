package io.capstream.policy;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.DateTimeException;
import java.time.Instant;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Reads the parts of the domain that people write (in the policy document or through the control
 * API) from a JSON tree, adding every problem to a list with its path. Used by {@link PolicyLoader}
 * and by the control API, so a cap is validated the same way wherever it is written.
 */
public final class Specs {
    public static final Pattern IDENTIFIER = Pattern.compile("[A-Za-z0-9][A-Za-z0-9_.:@/-]{0,127}");
    private static final Set<String> CAP_FIELDS = Set.of("id", "label", "amount", "measure", "feature", "model", "user", "api_key",
            "period", "timezone", "overage_only", "ignore_grants", "thresholds", "action", "strict", "fail_open");
    private static final Set<String> CUSTOMER_FIELDS = Set.of("plan", "timezone", "billing_anchor_day", "contacts", "overrides", "status");
    private static final Set<String> CONTACT_FIELDS = Set.of("emails", "webhook_url", "webhook_secret", "email_thresholds", "webhook_thresholds");
    private static final Pattern WEBHOOK_SECRET = Pattern.compile("whsec_[A-Za-z0-9+/]{16,}={0,2}");
    private static final Pattern EMAIL = Pattern.compile("[^@\\s]+@[^@\\s]+\\.[^@\\s]+");
    private static final Set<String> GRANT_FIELDS = Set.of("id", "amount", "category", "priority", "effective_at", "expires_at", "feature");

    private final List<String> errors;

    public Specs(List<String> errors) {
        this.errors = errors;
    }

    public List<String> errors() {
        return errors;
    }

    /** A cap; {@code id} may come from the URL instead of the body. */
    public Optional<Cap> cap(String path, JsonNode node, String idFromPath) {
        if (!object(path, node)) {
            return Optional.empty();
        }
        unknown(path, node, CAP_FIELDS);
        String id = idFromPath != null ? idFromPath : identifier(path + ".id", node.get("id"), true);
        if (idFromPath != null && !IDENTIFIER.matcher(idFromPath).matches()) {
            errors.add(path + ".id: letters, digits and _ . : @ / - (at most 128)");
        }
        BigDecimal amount = decimal(path + ".amount", node.get("amount"), true);
        Measure measure = Measure.of(text(path + ".measure", node.get("measure")));
        boolean overageOnly = bool(path + ".overage_only", node.get("overage_only"), false);
        boolean ignoreGrants = bool(path + ".ignore_grants", node.get("ignore_grants"), false);
        if (!measure.isMoney() && (overageOnly || ignoreGrants)) {
            errors.add(path + ".measure: overage_only and ignore_grants apply to USD caps only, not to '" + measure + "'");
        }
        ResetSchedule period = schedule(path + ".period", node.get("period"), "billing");
        Optional<ZoneId> zone = Optional.ofNullable(text(path + ".timezone", node.get("timezone"))).map(z -> zone(path + ".timezone", z));
        List<BigDecimal> thresholds = thresholds(path + ".thresholds", node.get("thresholds"), Cap.DEFAULT_THRESHOLDS);
        CapAction action = enumValue(path + ".action", node.get("action"), CapAction.class, CapAction.BLOCK);
        CapFilter filter = new CapFilter(identifier(path + ".feature", node.get("feature"), false),
                identifier(path + ".model", node.get("model"), false),
                text(path + ".user", node.get("user")), text(path + ".api_key", node.get("api_key")));
        Optional<Boolean> failOpen = node.hasNonNull("fail_open") ? Optional.of(bool(path + ".fail_open", node.get("fail_open"), false)) : Optional.empty();
        if (id == null || amount == null || period == null || action == null || thresholds == null || zone.map(z -> z == null).orElse(false)) {
            return Optional.empty();
        }
        return Optional.of(new Cap(id, text(path + ".label", node.get("label")), amount, measure, filter, period, zone,
                overageOnly, ignoreGrants, thresholds, action, bool(path + ".strict", node.get("strict"), false), failOpen));
    }

    /**
     * A customer's settings (plan, timezone, billing anchor day, contacts, overrides, status); caps and
     * grants are kept from {@code existing}, and so is the webhook secret when none is given.
     *
     * @param knownPlans the plans of the policy in force, to refuse an unknown plan; empty to skip the check
     */
    public Optional<Customer> customer(String path, JsonNode node, String id, Optional<Customer> existing, Set<String> knownPlans) {
        if (!object(path, node)) {
            return Optional.empty();
        }
        unknown(path, node, CUSTOMER_FIELDS);
        String plan = identifier(path + ".plan", node.get("plan"), false);
        if (plan != null && !knownPlans.isEmpty() && !knownPlans.contains(plan)) {
            errors.add(path + ".plan: unknown plan '" + plan + "'; the policy has " + new java.util.TreeSet<>(knownPlans));
        }
        String zoneText = Optional.ofNullable(text(path + ".timezone", node.get("timezone"))).orElse("UTC");
        ZoneId zone = zone(path + ".timezone", zoneText);
        int anchor = 1;
        JsonNode anchorNode = node.get("billing_anchor_day");
        if (anchorNode != null && !anchorNode.isNull()) {
            if (!anchorNode.canConvertToInt() || anchorNode.asInt() < 1 || anchorNode.asInt() > 31) {
                errors.add(path + ".billing_anchor_day: a day of the month, 1 to 31 (clamped to short months)");
            } else {
                anchor = anchorNode.asInt();
            }
        }
        Customer.Contacts contacts = contacts(path + ".contacts", node.get("contacts"),
                existing.flatMap(c -> c.contacts().webhookSecret()));
        boolean noHardCaps = false;
        JsonNode overrides = node.get("overrides");
        if (overrides != null && !overrides.isNull() && object(path + ".overrides", overrides)) {
            unknown(path + ".overrides", overrides, Set.of("no_hard_caps"));
            noHardCaps = bool(path + ".overrides.no_hard_caps", overrides.get("no_hard_caps"), false);
        }
        Customer.Status status = enumValue(path + ".status", node.get("status"), Customer.Status.class, Customer.Status.ACTIVE);
        if (zone == null || status == null || contacts == null) {
            return Optional.empty();
        }
        return Optional.of(new Customer(id, plan, zone, anchor, contacts, noHardCaps, status,
                existing.map(Customer::caps).orElse(List.of()), existing.map(Customer::grants).orElse(List.of())));
    }

    private Customer.Contacts contacts(String path, JsonNode node, Optional<String> existingSecret) {
        if (node == null || node.isNull()) {
            return new Customer.Contacts(List.of(), Optional.empty(), existingSecret, List.of(), List.of());
        }
        if (!object(path, node)) {
            return null;
        }
        unknown(path, node, CONTACT_FIELDS);
        List<String> emails = new ArrayList<>();
        JsonNode list = node.get("emails");
        if (list != null && !list.isArray()) {
            errors.add(path + ".emails: a list of addresses");
        } else if (list != null) {
            for (int i = 0; i < list.size(); i++) {
                String email = list.get(i).asText();
                if (!EMAIL.matcher(email).matches()) {
                    errors.add(path + ".emails[" + i + "]: '" + email + "' is not an email address");
                } else {
                    emails.add(email);
                }
            }
        }
        String url = text(path + ".webhook_url", node.get("webhook_url"));
        if (url != null && !(url.startsWith("https://") || url.startsWith("http://"))) {
            errors.add(path + ".webhook_url: an http(s) URL");
        }
        String newSecret = text(path + ".webhook_secret", node.get("webhook_secret"));
        if (newSecret != null && !WEBHOOK_SECRET.matcher(newSecret).matches()) {
            errors.add(path + ".webhook_secret: a Standard Webhooks secret: 'whsec_' and the base64 of at least 12 random bytes");
        }
        Optional<String> secret = Optional.ofNullable(newSecret).or(() -> existingSecret);
        if (url != null && secret.isEmpty()) {
            errors.add(path + ".webhook_secret: required with a webhook_url, to sign the webhooks");
        }
        List<BigDecimal> emailThresholds = thresholds(path + ".email_thresholds", node.get("email_thresholds"), List.of());
        List<BigDecimal> webhookThresholds = thresholds(path + ".webhook_thresholds", node.get("webhook_thresholds"), List.of());
        if (emailThresholds == null || webhookThresholds == null) {
            return null;
        }
        return new Customer.Contacts(emails, Optional.ofNullable(url), secret, emailThresholds, webhookThresholds);
    }

    /** A check (or reservation) request: customer, user, api_key, feature, model and an estimate per meter or {@code cost}. */
    public Optional<CheckRequest> checkRequest(JsonNode node) {
        if (!object("request", node)) {
            return Optional.empty();
        }
        String customer = identifier("customer", node.get("customer"), true);
        String feature = identifier("feature", node.get("feature"), true);
        String model = identifier("model", node.get("model"), false);
        java.util.Map<String, BigDecimal> estimate = new java.util.HashMap<>();
        Optional<BigDecimal> cost = Optional.empty();
        JsonNode est = node.get("estimate");
        if (est != null && est.isObject()) {
            for (var it = est.fields(); it.hasNext(); ) {
                var e = it.next();
                BigDecimal q = decimal("estimate." + e.getKey(), e.getValue(), true);
                if (q != null && e.getKey().equals("cost")) {
                    cost = Optional.of(q);
                } else if (q != null) {
                    estimate.put(e.getKey(), q);
                }
            }
        } else if (est != null && !est.isNull()) {
            errors.add("estimate: an object of meter to quantity, or {\"cost\": \"0.02\"}");
        }
        String user = text("user", node.get("user"));
        String apiKey = text("api_key", node.get("api_key"));
        if (customer == null || feature == null) {
            return Optional.empty();
        }
        return Optional.of(new CheckRequest(customer, user, apiKey, feature, model, estimate, cost));
    }

    /** A grant; {@code generatedId} is used when the body has no id. */
    public Optional<Grant> grant(String path, JsonNode node, String generatedId, Instant now) {
        if (!object(path, node)) {
            return Optional.empty();
        }
        unknown(path, node, GRANT_FIELDS);
        String id = node.hasNonNull("id") ? identifier(path + ".id", node.get("id"), true) : generatedId;
        BigDecimal amount = decimal(path + ".amount", node.get("amount"), true);
        String category = Optional.ofNullable(text(path + ".category", node.get("category"))).orElse("promotional").toLowerCase(Locale.ROOT);
        if (!category.equals("promotional") && !category.equals("paid")) {
            errors.add(path + ".category: 'promotional' or 'paid'");
        }
        int priority = node.hasNonNull("priority") ? node.get("priority").asInt(100) : 100;
        Instant effective = node.hasNonNull("effective_at") ? time(path + ".effective_at", node.get("effective_at")) : now;
        Instant expires = node.hasNonNull("expires_at") ? time(path + ".expires_at", node.get("expires_at")) : null;
        if (effective != null && expires != null && !expires.isAfter(effective)) {
            errors.add(path + ".expires_at: must be after effective_at");
        }
        String feature = identifier(path + ".feature", node.get("feature"), false);
        if (id == null || amount == null || effective == null || (node.hasNonNull("expires_at") && expires == null)) {
            return Optional.empty();
        }
        return Optional.of(new Grant(id, amount, category, priority, effective, Optional.ofNullable(expires), Optional.ofNullable(feature)));
    }

    public ResetSchedule schedule(String path, JsonNode node, String defaultText) {
        String text = node == null || node.isNull() ? defaultText : node.asText();
        try {
            return ResetSchedule.parse(text);
        } catch (IllegalArgumentException e) {
            errors.add(path + ": " + e.getMessage());
            return null;
        }
    }

    public ZoneId zone(String path, String text) {
        try {
            return ZoneId.of(text);
        } catch (DateTimeException e) {
            errors.add(path + ": '" + text + "' is not an IANA timezone (e.g. America/Los_Angeles, Asia/Kolkata, UTC)");
            return null;
        }
    }

    public List<BigDecimal> thresholds(String path, JsonNode node, List<BigDecimal> defaults) {
        if (node == null || node.isNull()) {
            return defaults;
        }
        if (!node.isArray()) {
            errors.add(path + ": a list of fractions of the limit, e.g. [0.8, 0.9, 1.0]");
            return null;
        }
        List<BigDecimal> result = new ArrayList<>();
        for (int i = 0; i < node.size(); i++) {
            BigDecimal t = decimal(path + "[" + i + "]", node.get(i), true);
            if (t != null && (t.signum() <= 0 || t.compareTo(BigDecimal.TEN) > 0 || t.scale() > 4)) {
                errors.add(path + "[" + i + "]: a fraction of the limit above 0 and at most 10, with at most 4 decimals (0.8 = 80 %)");
            } else if (t != null) {
                result.add(t.stripTrailingZeros());
            }
        }
        return result.stream().distinct().sorted().toList();
    }

    public BigDecimal decimal(String path, JsonNode node, boolean required) {
        if (node == null || node.isNull()) {
            if (required) {
                errors.add(path + ": required");
            }
            return null;
        }
        try {
            BigDecimal value = node.isNumber() ? node.decimalValue() : new BigDecimal(node.asText().strip());
            if (value.signum() < 0) {
                errors.add(path + ": must not be negative");
                return null;
            }
            return value;
        } catch (NumberFormatException e) {
            errors.add(path + ": '" + node.asText() + "' is not a decimal number");
            return null;
        }
    }

    public String identifier(String path, JsonNode node, boolean required) {
        if (node == null || node.isNull()) {
            if (required) {
                errors.add(path + ": required");
            }
            return null;
        }
        if (!node.isTextual() || !IDENTIFIER.matcher(node.asText()).matches()) {
            errors.add(path + ": letters, digits and _ . : @ / - (at most 128)");
            return null;
        }
        return node.asText();
    }

    public String text(String path, JsonNode node) {
        if (node == null || node.isNull()) {
            return null;
        }
        if (!node.isValueNode() || node.asText().length() > 512) {
            errors.add(path + ": a string of at most 512 characters");
            return null;
        }
        return node.asText();
    }

    public boolean bool(String path, JsonNode node, boolean defaultValue) {
        if (node == null || node.isNull()) {
            return defaultValue;
        }
        if (!node.isBoolean()) {
            errors.add(path + ": true or false");
            return defaultValue;
        }
        return node.asBoolean();
    }

    public Instant time(String path, JsonNode node) {
        try {
            return OffsetDateTime.parse(node.asText()).toInstant();
        } catch (DateTimeException e) {
            errors.add(path + ": an RFC 3339 time with an offset, e.g. 2026-12-31T23:59:59Z");
            return null;
        }
    }

    public <E extends Enum<E>> E enumValue(String path, JsonNode node, Class<E> type, E defaultValue) {
        if (node == null || node.isNull()) {
            return defaultValue;
        }
        try {
            return Enum.valueOf(type, node.asText().toUpperCase(Locale.ROOT));
        } catch (IllegalArgumentException e) {
            errors.add(path + ": one of " + java.util.Arrays.stream(type.getEnumConstants())
                    .map(c -> c.name().toLowerCase(Locale.ROOT)).toList());
            return null;
        }
    }

    public boolean object(String path, JsonNode node) {
        if (node == null || !node.isObject()) {
            errors.add(path + ": must be an object");
            return false;
        }
        return true;
    }

    public void unknown(String path, JsonNode node, Set<String> known) {
        node.fieldNames().forEachRemaining(f -> {
            if (!known.contains(f)) {
                errors.add(path + "." + f + ": unknown field (expected one of " + new java.util.TreeSet<>(known) + ")");
            }
        });
    }
}

package io.capstream.policy.input;

import io.capstream.policy.runaway.RunawaySettings;
import io.capstream.policy.runaway.RunawayRule;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;

import com.fasterxml.jackson.databind.JsonNode;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Pattern;

/**
 * Reads the parts of the domain that people write (in the policy document or through the control
 * API) from a JSON tree, adding every problem to a list with its path. Used by {@link PolicyLoader}
 * and by the control API, so a cap is validated the same way wherever it is written.
 */
public final class Specs extends Fields {
    private static final Set<String> CAP_FIELDS = Set.of("id", "label", "amount", "measure", "feature", "model", "user", "api_key",
            "period", "timezone", "overage_only", "ignore_grants", "thresholds", "action", "strict", "fail_open");
    private static final Set<String> CUSTOMER_FIELDS = Set.of("plan", "timezone", "billing_anchor_day", "contacts", "overrides", "status");
    private static final Set<String> CONTACT_FIELDS = Set.of("emails", "webhook_url", "webhook_secret", "email_thresholds", "webhook_thresholds",
            "notify_on_jump");
    private static final Pattern WEBHOOK_SECRET = Pattern.compile("whsec_[A-Za-z0-9+/]{16,}={0,2}");
    /**
     * An address as people write it on a form: an RFC 5322 dot-atom local part, a domain of letters,
     * digits and hyphens with a dot. Stricter than the RFC (no quoted local parts, no comments, no
     * display names), so what is accepted here is what any SMTP server takes.
     */
    private static final Pattern EMAIL = Pattern.compile(
            "[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(\\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*@([A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?\\.)+[A-Za-z]{2,63}");
    private static final Set<String> CHECK_FIELDS = Set.of("customer", "user", "api_key", "feature", "model", "estimate", "reserve");
    private static final Set<String> GRANT_FIELDS = Set.of("id", "amount", "category", "priority", "effective_at", "expires_at", "feature");

    /** A cap; {@code id} may come from the URL instead of the body. */
    public Optional<Cap> cap(String path, JsonNode node, String idFromPath) {
        if (!object(path, node)) {
            return Optional.empty();
        }
        unknown(path, node, CAP_FIELDS);
        String id = idFromPath != null ? idFromPath : identifier(path + ".id", node.get("id"), true);
        if (idFromPath != null && !isIdentifier(idFromPath)) {
            problems().add(new Problem(path + ".id", "letters, digits and _ . : @ / - (at most 128)"));
        }
        BigDecimal amount = decimal(path + ".amount", node.get("amount"), true);
        Measure measure = Measure.of(identifier(path + ".measure", node.get("measure"), false));
        boolean overageOnly = bool(path + ".overage_only", node.get("overage_only"), false);
        boolean ignoreGrants = bool(path + ".ignore_grants", node.get("ignore_grants"), false);
        if (!measure.isMoney() && (overageOnly || ignoreGrants)) {
            problems().add(new Problem(path + ".measure", "overage_only and ignore_grants apply to USD caps only, not to '" + measure + "'"));
        }
        ResetSchedule period = schedule(path + ".period", node.get("period"), "billing");
        Optional<ZoneId> zone = Optional.ofNullable(text(path + ".timezone", node.get("timezone"))).map(z -> zone(path + ".timezone", z));
        List<BigDecimal> thresholds = thresholds(path + ".thresholds", node.get("thresholds"), Cap.DEFAULT_THRESHOLDS);
        LimitAction action = action(path + ".action", node.get("action"), LimitAction.CAP, LimitAction.BLOCK);
        CapFilter filter = new CapFilter(identifier(path + ".feature", node.get("feature"), false),
                identifier(path + ".model", node.get("model"), false),
                text(path + ".user", node.get("user"), 256), text(path + ".api_key", node.get("api_key"), 256));
        Optional<Boolean> failOpen = node.hasNonNull("fail_open") ? Optional.of(bool(path + ".fail_open", node.get("fail_open"), false)) : Optional.empty();
        if (id == null || amount == null || period == null || action == null || thresholds == null || zone.map(z -> z == null).orElse(false)) {
            return Optional.empty();
        }
        return Optional.of(new Cap(id, label(path + ".label", node.get("label")), amount, measure, filter, period, zone,
                overageOnly, ignoreGrants, thresholds, action, bool(path + ".strict", node.get("strict"), false), failOpen));
    }

    /**
     * A customer's settings (plan, timezone, billing anchor day, contacts, overrides, status); caps and
     * grants are kept from {@code existing}, and so is the webhook secret when none is given.
     *
     * @param knownPlans the plans of the policy in force, to refuse an unknown plan; empty to skip the check
     */
    public Optional<Customer> customer(String path, JsonNode node, String id, Optional<Customer> existing, Set<String> knownPlans) {
        return customer(path, node, id, existing, knownPlans, Set.of());
    }

    /** As above; {@code allowedWebhookHosts} may receive webhooks over http and on private addresses (development). */
    public Optional<Customer> customer(String path, JsonNode node, String id, Optional<Customer> existing, Set<String> knownPlans,
                                       Set<String> allowedWebhookHosts) {
        if (!object(path, node)) {
            return Optional.empty();
        }
        unknown(path, node, CUSTOMER_FIELDS);
        String plan = identifier(path + ".plan", node.get("plan"), false);
        if (plan != null && !knownPlans.isEmpty() && !knownPlans.contains(plan)) {
            problems().add(new Problem(path + ".plan", "unknown plan '" + plan + "'; the policy has " + new java.util.TreeSet<>(knownPlans)));
        }
        String zoneText = Optional.ofNullable(text(path + ".timezone", node.get("timezone"), 64)).orElse("UTC");
        ZoneId zone = zone(path + ".timezone", zoneText);
        int anchor = integer(path + ".billing_anchor_day", node.get("billing_anchor_day"), 1, 31, 1,
                "a day of the month, 1 to 31 (clamped to short months)");
        Customer.Contacts contacts = contacts(path + ".contacts", node.get("contacts"),
                existing.flatMap(c -> c.contacts().webhookSecret()), allowedWebhookHosts);
        boolean noHardCaps = false;
        Optional<RunawaySettings> runaway = Optional.empty();
        JsonNode overrides = node.get("overrides");
        if (overrides != null && !overrides.isNull() && object(path + ".overrides", overrides)) {
            unknown(path + ".overrides", overrides, Set.of("no_hard_caps", "runaway"));
            noHardCaps = bool(path + ".overrides.no_hard_caps", overrides.get("no_hard_caps"), false);
            runaway = runaway(path + ".overrides.runaway", overrides.get("runaway"), true);
        }
        Customer.Status status = enumValue(path + ".status", node.get("status"), Customer.Status.class, Customer.Status.ACTIVE);
        if (zone == null || status == null || contacts == null) {
            return Optional.empty();
        }
        return Optional.of(new Customer(id, plan, zone, anchor, contacts, noHardCaps, status,
                existing.map(Customer::caps).orElse(List.of()), existing.map(Customer::grants).orElse(List.of()), runaway));
    }

    private static final Set<String> RUNAWAY_FIELDS = Set.of("factor", "floor", "absolute", "sustain_minutes", "action", "cool_down_minutes");

    /**
     * A runaway breaker's settings ({@link RunawaySettings}: a plan's {@code runaway} block, or with {@code customer} a
     * customer's {@code overrides.runaway}, which may also say {@code enabled}); rates in USD per minute. Empty when absent or invalid.
     */
    public Optional<RunawaySettings> runaway(String path, JsonNode node, boolean customer) {
        if (node == null || node.isNull() || !object(path, node)) {
            return Optional.empty();
        }
        Set<String> known = new java.util.HashSet<>(RUNAWAY_FIELDS);
        if (customer) {
            known.add("enabled");
        }
        unknown(path, node, known);
        int before = problems().size();
        boolean enabled = bool(path + ".enabled", node.get("enabled"), true);
        Optional<BigDecimal> factor = Optional.ofNullable(decimal(path + ".factor", node.get("factor"), false));
        if (factor.filter(f -> f.compareTo(BigDecimal.ONE) <= 0 || f.compareTo(BigDecimal.valueOf(1000)) > 0).isPresent()) {
            problems().add(new Problem(path + ".factor", "more than 1 and at most 1000 (times the baseline)"));
        }
        Optional<BigDecimal> floor = Optional.ofNullable(decimal(path + ".floor", node.get("floor"), false));
        if (floor.filter(f -> f.signum() <= 0).isPresent()) {
            problems().add(new Problem(path + ".floor", "a positive amount of USD per minute"));
        }
        Optional<BigDecimal> absolute = Optional.ofNullable(decimal(path + ".absolute", node.get("absolute"), false));
        if (absolute.filter(a -> a.signum() <= 0).isPresent()) {
            problems().add(new Problem(path + ".absolute", "a positive amount of USD per minute"));
        }
        Optional<Integer> sustain = node.has("sustain_minutes")
                ? Optional.of(integer(path + ".sustain_minutes", node.get("sustain_minutes"), 1, 60, 1, "a whole number of minutes from 1 to 60"))
                : Optional.empty();
        Optional<LimitAction> action = Optional.ofNullable(action(path + ".action", node.get("action"), RunawayRule.ACTIONS, null));
        Optional<Integer> coolDown = node.has("cool_down_minutes")
                ? Optional.of(integer(path + ".cool_down_minutes", node.get("cool_down_minutes"), 1, 24 * 60, 1, "a whole number of minutes from 1 to 1440"))
                : Optional.empty();
        return problems().size() > before ? Optional.empty()
                : Optional.of(new RunawaySettings(enabled, factor, floor, absolute, sustain, action, coolDown));
    }

    private Customer.Contacts contacts(String path, JsonNode node, Optional<String> existingSecret, Set<String> allowedWebhookHosts) {
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
            problems().add(new Problem(path + ".emails", "a list of addresses"));
        } else if (list != null && list.size() > Bounds.EMAILS) {
            problems().add(new Problem(path + ".emails", "at most " + Bounds.EMAILS + " addresses"));
        } else if (list != null) {
            for (int i = 0; i < list.size(); i++) {
                String email = list.get(i).isTextual() ? list.get(i).asText() : "";
                if (email.length() > 254 || !EMAIL.matcher(email).matches()) {
                    problems().add(new Problem(path + ".emails[" + i + "]", "'" + email + "' is not an email address"));
                } else {
                    emails.add(email);
                }
            }
        }
        String url = text(path + ".webhook_url", node.get("webhook_url"), Bounds.URL);
        Optional.ofNullable(url).map(u -> WebhookDestinations.problem(u, allowedWebhookHosts))
                .ifPresent(problem -> problems().add(new Problem(path + ".webhook_url", problem)));
        String newSecret = text(path + ".webhook_secret", node.get("webhook_secret"), 256);
        if (newSecret != null && !WEBHOOK_SECRET.matcher(newSecret).matches()) {
            problems().add(new Problem(path + ".webhook_secret", "a Standard Webhooks secret: 'whsec_' and the base64 of at least 12 random bytes"));
        }
        Optional<String> secret = Optional.ofNullable(newSecret).or(() -> existingSecret);
        if (url != null && secret.isEmpty()) {
            problems().add(new Problem(path + ".webhook_secret", "required with a webhook_url, to sign the webhooks"));
        }
        List<BigDecimal> emailThresholds = thresholds(path + ".email_thresholds", node.get("email_thresholds"), List.of());
        List<BigDecimal> webhookThresholds = thresholds(path + ".webhook_thresholds", node.get("webhook_thresholds"), List.of());
        Customer.Contacts.OnJump onJump = enumValue(path + ".notify_on_jump", node.get("notify_on_jump"), Customer.Contacts.OnJump.class,
                Customer.Contacts.OnJump.EACH);
        if (emailThresholds == null || webhookThresholds == null || onJump == null) {
            return null;
        }
        return new Customer.Contacts(emails, Optional.ofNullable(url), secret, emailThresholds, webhookThresholds, onJump);
    }

    /**
     * A check (or reservation) request: customer, user, api_key, feature, model and an estimate per meter
     * or {@code cost}. Only its form is checked here; {@link CheckRequest#problems} checks it against the policy.
     */
    public Optional<CheckRequest> checkRequest(JsonNode node) {
        if (!object("request", node)) {
            return Optional.empty();
        }
        unknown("", node, CHECK_FIELDS);
        String customer = identifier("customer", node.get("customer"), true);
        String feature = identifier("feature", node.get("feature"), true);
        String model = identifier("model", node.get("model"), false);
        Map<String, BigDecimal> estimate = new java.util.HashMap<>();
        Optional<BigDecimal> cost = Optional.empty();
        JsonNode est = node.get("estimate");
        if (est != null && est.isObject() && est.size() > Bounds.METERS) {
            problems().add(new Problem("estimate", "at most " + Bounds.METERS + " meters"));
        } else if (est != null && est.isObject()) {
            for (var it = est.fields(); it.hasNext(); ) {
                var e = it.next();
                String field = "estimate." + e.getKey();
                if (!isIdentifier(e.getKey())) {
                    problems().add(new Problem(field, "meter names are letters, digits and _ . : @ / - (at most 128)"));
                } else if (e.getKey().equals("cost")) {
                    cost = Optional.ofNullable(decimal(field, e.getValue(), true));
                } else {
                    Optional.ofNullable(decimal(field, e.getValue(), true, Decimals.QUANTITY)).ifPresent(q -> estimate.put(e.getKey(), q));
                }
            }
            if (cost.isPresent() && !estimate.isEmpty()) {
                problems().add(new Problem("estimate", "either {\"cost\": ...} or quantities per meter, not both"));
            }
        } else if (est != null && !est.isNull()) {
            problems().add(new Problem("estimate", "an object of meter to quantity, or {\"cost\": \"0.02\"}"));
        }
        String user = text("user", node.get("user"), 256);
        String apiKey = text("api_key", node.get("api_key"), 256);
        bool("reserve", node.get("reserve"), false);
        if (customer == null || feature == null) {
            return Optional.empty();
        }
        return Optional.of(new CheckRequest(customer, user, apiKey, feature, model, estimate, cost));
    }

    /**
     * A check request in its common shape, read from the body's bytes without a tree: a flat object of
     * identifiers, {@code user} and {@code api_key} as identifiers too, and an {@code estimate} of
     * whole-number quantities (or numbers as strings). Anything else — another shape, a problem, a
     * duplicate field, a cost estimate — is empty, and the body is read with {@link #checkRequest(JsonNode)},
     * which names every problem: this path may only ever accept what that one accepts, with the same
     * result ({@code SimpleCheckRequestTest} holds it to that).
     *
     * @param json a factory with the service's limits and duplicate detection
     */
    public static Optional<CheckRequest> simpleCheckRequest(com.fasterxml.jackson.core.JsonFactory json, byte[] body) {
        try (com.fasterxml.jackson.core.JsonParser p = json.createParser(body)) {
            if (p.nextToken() != com.fasterxml.jackson.core.JsonToken.START_OBJECT) {
                return Optional.empty();
            }
            String customer = null;
            String feature = null;
            String model = null;
            String user = null;
            String apiKey = null;
            Map<String, BigDecimal> estimate = Map.of();
            for (String field; (field = p.nextFieldName()) != null; ) {
                com.fasterxml.jackson.core.JsonToken value = p.nextToken();
                if (field.equals("estimate")) {
                    if (value != com.fasterxml.jackson.core.JsonToken.START_OBJECT || (estimate = simpleEstimate(p)) == null) {
                        return Optional.empty();
                    }
                    continue;
                }
                if (field.equals("reserve")) {
                    if (!value.isBoolean()) {
                        return Optional.empty();
                    }
                    continue;
                }
                if (value != com.fasterxml.jackson.core.JsonToken.VALUE_STRING || !isIdentifier(p.getText())) {
                    return Optional.empty();
                }
                switch (field) {
                    case "customer" -> customer = p.getText();
                    case "feature" -> feature = p.getText();
                    case "model" -> model = p.getText();
                    case "user" -> user = p.getText();
                    case "api_key" -> apiKey = p.getText();
                    default -> {
                        return Optional.empty();
                    }
                }
            }
            if (p.currentToken() != com.fasterxml.jackson.core.JsonToken.END_OBJECT || p.nextToken() != null || customer == null || feature == null) {
                return Optional.empty();
            }
            return Optional.of(new CheckRequest(customer, user, apiKey, feature, model, estimate, Optional.empty()));
        } catch (java.io.IOException | RuntimeException e) { // malformed, duplicate, out of bounds: the tree path says what
            return Optional.empty();
        }
    }

    /** Meter → whole number or decimal string, as {@link #checkRequest(JsonNode)} reads them; null for anything else. */
    private static Map<String, BigDecimal> simpleEstimate(com.fasterxml.jackson.core.JsonParser p) throws java.io.IOException {
        Map<String, BigDecimal> estimate = new java.util.HashMap<>(4);
        for (String meter; (meter = p.nextFieldName()) != null; ) {
            com.fasterxml.jackson.core.JsonToken value = p.nextToken();
            if (!isIdentifier(meter) || meter.equals("cost") || estimate.size() == Bounds.METERS) {
                return null;
            }
            if (value == com.fasterxml.jackson.core.JsonToken.VALUE_NUMBER_INT && p.getNumberType() != com.fasterxml.jackson.core.JsonParser.NumberType.BIG_INTEGER) {
                estimate.put(meter, Decimals.check(BigDecimal.valueOf(p.getLongValue()), Decimals.QUANTITY));
            } else if (value == com.fasterxml.jackson.core.JsonToken.VALUE_STRING) {
                estimate.put(meter, Decimals.parse(p.getText(), Decimals.QUANTITY));
            } else {
                return null;
            }
        }
        return p.currentToken() == com.fasterxml.jackson.core.JsonToken.END_OBJECT ? estimate : null;
    }

    /** A grant; {@code generatedId} is used when the body has no id. */
    public Optional<Grant> grant(String path, JsonNode node, String generatedId, Instant now) {
        if (!object(path, node)) {
            return Optional.empty();
        }
        unknown(path, node, GRANT_FIELDS);
        String id = node.hasNonNull("id") ? identifier(path + ".id", node.get("id"), true) : generatedId;
        BigDecimal amount = decimal(path + ".amount", node.get("amount"), true);
        String category = Optional.ofNullable(text(path + ".category", node.get("category"), 32)).orElse("promotional").toLowerCase(Locale.ROOT);
        if (!category.equals("promotional") && !category.equals("paid")) {
            problems().add(new Problem(path + ".category", "'promotional' or 'paid'"));
        }
        int priority = integer(path + ".priority", node.get("priority"), 0, 1_000_000, 100, "a whole number from 0 to 1000000 (lower burns first)");
        Instant effective = node.hasNonNull("effective_at") ? time(path + ".effective_at", node.get("effective_at")) : now;
        Instant expires = node.hasNonNull("expires_at") ? time(path + ".expires_at", node.get("expires_at")) : null;
        if (effective != null && expires != null && !expires.isAfter(effective)) {
            problems().add(new Problem(path + ".expires_at", "must be after effective_at"));
        }
        String feature = identifier(path + ".feature", node.get("feature"), false);
        if (id == null || amount == null || effective == null || (node.hasNonNull("expires_at") && expires == null)) {
            return Optional.empty();
        }
        return Optional.of(new Grant(id, amount, category, priority, effective, Optional.ofNullable(expires), Optional.ofNullable(feature)));
    }

    public Specs() {
        super();
    }

    public Specs(List<Problem> problems) {
        super(problems);
    }
}

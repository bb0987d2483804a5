package io.capstream.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.policy.input.Bounds;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.input.InvalidInputException;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyValidationException;
import io.capstream.policy.input.Problem;
import io.capstream.policy.input.Specs;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.CustomerRateLimiter;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.runtime.SecretBox;
import io.capstream.schemas.AuditEntry;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.TopicView;
import io.capstream.schemas.topics.Topics;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.UUID;
import java.util.function.Supplier;

/**
 * The control API (DESIGN 5): customers, their caps and grants, written to the compacted
 * {@code customers} topic, and the policy document, written to the {@code policy} topic. Every input
 * is validated by the policy module's {@link Specs}, with every problem named. {@code admin} keys
 * manage everything; a {@code customer:<id>} key reads that customer and sets its caps, nothing else.
 * Webhook secrets are sealed ({@link SecretBox}) before they are written.
 */
final class ControlApi {
    private final ApiKeys keys;
    private final TopicView<CustomerRecord> customers;
    private final TopicView<PolicyRecord> policies;
    private final CustomerWriter writer;
    private final PolicyPublisher policyPublisher;
    private final Clock clock;
    private final Supplier<Optional<PolicyDocument>> policy;
    private final SecretBox secrets;
    private final Set<String> allowedWebhookHosts;
    /** A customer's own cap changes (its key or portal token; admins are not limited): {@link CustomerRateLimiter}. */
    private final CustomerRateLimiter capChanges = new CustomerRateLimiter(CAP_CHANGES_PER_SECOND);
    static final long CAP_CHANGES_PER_SECOND = 5;
    /** A customer's own reads of its configuration, at the rate of its usage reads on the query API. */
    private final CustomerRateLimiter reads = new CustomerRateLimiter(READS_PER_SECOND);
    static final long READS_PER_SECOND = 10;

    ControlApi(ApiKeys keys, TopicView<CustomerRecord> customers, TopicView<PolicyRecord> policies, Supplier<Optional<PolicyDocument>> policy,
               CustomerWriter writer, PolicyPublisher policyPublisher, Clock clock,
               SecretBox secrets, Set<String> allowedWebhookHosts) {
        this.keys = keys;
        this.customers = customers;
        this.policies = policies;
        this.policy = policy;
        this.secrets = secrets;
        this.allowedWebhookHosts = Set.copyOf(allowedWebhookHosts);
        this.writer = writer;
        this.policyPublisher = policyPublisher;
        this.clock = clock;
    }

    void routes(JavalinConfig config) {
        config.routes.get("/v1/customers/{id}", ctx -> {
            String id = ctx.pathParam("id");
            if (!authorize(ctx, id, false).isAdmin()) {
                reads.takeOrRefuse(id, "reads_rate_limited", "read its configuration at most " + READS_PER_SECOND + " times a second", "");
            }
            Customer customer = current(id).orElseThrow(() -> new ApiException(404, "customer_not_found",
                    "customer '" + id + "' has not been configured; PUT /v1/customers/" + id + " creates it"));
            long version = customers.version(id);
            if (version >= 0) {
                ctx.header("ETag", CustomerWriter.etag(version));
            }
            HttpServer.json(ctx, 200, CustomerView.of(customer));
        });
        config.routes.put("/v1/customers/{id}", ctx -> {
            String id = identifier(ctx.pathParam("id"));
            Principal who = authorize(ctx, id, true);
            JsonNode body = body(ctx);
            Customer saved = update(ctx, id, audit(ctx, who, "customer.update", null), existing -> {
                Specs specs = new Specs();
                Customer customer = specs.require(specs.customer("customer", body, id, existing, knownPlans(), allowedWebhookHosts));
                Customer.Contacts c = customer.contacts();
                return customer.withContacts(new Customer.Contacts(c.emails(), c.webhookUrl(), c.webhookSecret().map(secrets::seal),
                        c.emailThresholds(), c.webhookThresholds(), c.notifyOnJump()));
            });
            HttpServer.json(ctx, 200, CustomerView.of(saved));
        });
        config.routes.put("/v1/customers/{id}/caps/{cap_id}", ctx -> {
            String id = identifier(ctx.pathParam("id"));
            Principal who = authorize(ctx, id, false);
            limitCapChanges(who, id);
            JsonNode body = body(ctx);
            String capId = ctx.pathParam("cap_id");
            Customer saved = update(ctx, id, audit(ctx, who, "cap.put", capId), existing -> {
                Specs specs = new Specs();
                Optional<Cap> cap = specs.cap("cap", body, capId);
                cap.filter(c -> policy().map(p -> !p.knowsMeasure(c.measure())).orElse(false))
                        .ifPresent(c -> specs.problems().add(new Problem("cap.measure", "'" + c.measure() + "' is neither USD nor a priced meter")));
                Cap valid = specs.require(cap);
                Customer base = existing.orElseGet(() -> unconfigured(id));
                List<Cap> caps = new ArrayList<>(base.caps().stream().filter(c -> !c.id().equals(capId)).toList());
                if (caps.size() >= Bounds.CAPS_PER_CUSTOMER) {
                    throw new InvalidInputException(List.of(new Problem("cap", "a customer has at most " + Bounds.CAPS_PER_CUSTOMER
                            + " caps; delete one or change an existing one")));
                }
                caps.add(valid);
                return base.withCaps(caps);
            });
            HttpServer.json(ctx, 200, CustomerView.cap(saved.caps().stream().filter(c -> c.id().equals(capId)).findFirst().orElseThrow()));
        });
        config.routes.delete("/v1/customers/{id}/caps/{cap_id}", ctx -> {
            String id = identifier(ctx.pathParam("id"));
            Principal who = authorize(ctx, id, false);
            limitCapChanges(who, id);
            String capId = ctx.pathParam("cap_id");
            update(ctx, id, audit(ctx, who, "cap.delete", capId), existing -> {
                Customer base = existing.filter(c -> c.caps().stream().anyMatch(cap -> cap.id().equals(capId)))
                        .orElseThrow(() -> new ApiException(404, "cap_not_found", "customer '" + id + "' has no cap '" + capId + "'"));
                return base.withCaps(base.caps().stream().filter(c -> !c.id().equals(capId)).toList());
            });
            ctx.status(204);
        });
        config.routes.post("/v1/customers/{id}/grants", ctx -> {
            String id = identifier(ctx.pathParam("id"));
            Principal who = authorize(ctx, id, true);
            JsonNode body = body(ctx);
            Grant[] created = new Grant[1];
            update(ctx, id, audit(ctx, who, "grant.add", null), existing -> {
                Specs specs = new Specs();
                Optional<Grant> grant = specs.grant("grant", body, "grant_" + UUID.randomUUID().toString().substring(0, 8), clock.instant());
                created[0] = specs.require(grant);
                Customer base = existing.orElseGet(() -> unconfigured(id));
                if (base.grants().stream().anyMatch(g -> g.id().equals(created[0].id()))) {
                    throw new ApiException(409, "grant_exists", "customer '" + id + "' already has a grant '" + created[0].id() + "'");
                }
                if (base.grants().size() >= Bounds.GRANTS_PER_CUSTOMER) {
                    throw new InvalidInputException(List.of(new Problem("grant", "a customer has at most " + Bounds.GRANTS_PER_CUSTOMER + " grants")));
                }
                List<Grant> grants = new ArrayList<>(base.grants());
                grants.add(created[0]);
                return base.withGrants(grants);
            });
            HttpServer.json(ctx, 201, CustomerView.grant(created[0]));
        });
        // closes the customer's open runaway circuit breakers: the aggregator closes each one opened before this time
        config.routes.post("/v1/customers/{id}/runaway/reset", ctx -> {
            String id = identifier(ctx.pathParam("id"));
            Principal who = authorize(ctx, id, false);
            Instant at = clock.instant();
            if (!who.isAdmin()) {
                refuseEarlyReset(id, at);
            }
            CustomerWriter.Written written = writer.write(id, ifMatch(ctx), existing -> CustomerRecord.newBuilder(
                    existing.orElseGet(() -> CustomerMapping.toRecord(unconfigured(id), at))).setRunawayResetAt(at).setUpdatedAt(at).build(),
                    audit(ctx, who, "runaway.reset", null));
            ctx.header("ETag", CustomerWriter.etag(written.version()));
            HttpServer.json(ctx, 202, Map.of("customer", id, "reset_at", at.toString(),
                    "message", "every runaway breaker of " + id + " opened before reset_at closes within seconds"));
        });
        config.routes.get("/v1/policy", ctx -> {
            admin(ctx);
            PolicyRecord record = policies.get(Topics.POLICY_KEY).orElseThrow(() ->
                    new ApiException(404, "policy_not_found", "no policy document has been applied yet"));
            ctx.header("ETag", "\"" + record.getVersion() + "\"").contentType("application/yaml").result(record.getSource());
        });
        config.routes.put("/v1/policy", ctx -> {
            Principal who = admin(ctx);
            try {
                String before = policies.get(Topics.POLICY_KEY).map(PolicyRecord::getSource).orElse(null);
                PolicyPublisher.Applied applied = policyPublisher.publish(ctx.body(), clock.instant());
                PolicyRecord record = applied.record();
                policies.remember(Topics.POLICY_KEY, record, applied.offset());
                // after it is applied: a policy that failed validation changed nothing and is not a change to audit
                writer.audit(Topics.POLICY_AUDIT_KEY, entry(ctx, who, "policy.apply", null, null, before, record.getSource()));
                HttpServer.json(ctx, 200, Map.of("version", record.getVersion(), "applied_at", record.getAppliedAt().toString()));
            } catch (PolicyValidationException e) {
                throw ApiException.problems(422, "invalid_policy", "the policy document", e.problems(), ApiException::error, "; nothing was applied");
            }
        });
    }

    private interface Change {
        Customer apply(Optional<Customer> existing);
    }

    /**
     * The audit entry of a change to a customer ({@code audit-log}): who, the request id (answered as {@code X-Request-Id}),
     * what, and the customer as {@code GET} shows it before and after (secrets never).
     */
    private CustomerWriter.Audit audit(Context ctx, Principal who, String action, String target) {
        return (before, after) -> entry(ctx, who, action, after.getId(), target, before.map(ControlApi::shown).orElse(null), shown(after));
    }

    private AuditEntry entry(Context ctx, Principal who, String action, String customer, String target, String before, String after) {
        return AuditEntry.newBuilder().setId(UUID.randomUUID().toString()).setAt(clock.instant()).setActor(who.name())
                .setRequestId(requestId(ctx)).setCustomer(customer).setAction(action).setTarget(target).setBefore(before).setAfter(after).build();
    }

    private static String shown(CustomerRecord record) {
        try {
            return io.capstream.runtime.Json.MAPPER.writeValueAsString(CustomerView.of(CustomerMapping.fromRecord(record)));
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            throw new IllegalStateException(e);
        }
    }

    /** The caller's {@code X-Request-Id} when it is a plain token of at most 64 characters, otherwise a new one; answered in the same header. */
    private static String requestId(Context ctx) {
        String id = ctx.attribute("request-id");
        if (id == null) {
            String given = ctx.header("X-Request-Id");
            id = given != null && Specs.isIdentifier(given) && given.length() <= 64 ? given : UUID.randomUUID().toString();
            ctx.attribute("request-id", id);
            ctx.header("X-Request-Id", id);
        }
        return id;
    }

    /**
     * Read-modify-write of one customer with no lost update across instances ({@link CustomerWriter}), audited; honours
     * {@code If-Match} and answers the new version as {@code ETag}.
     */
    private Customer update(Context ctx, String id, CustomerWriter.Audit audit, Change change) {
        Customer[] updated = new Customer[1];
        CustomerWriter.Written written = writer.write(id, ifMatch(ctx), existing -> {
            updated[0] = change.apply(existing.map(CustomerMapping::fromRecord));
            return CustomerMapping.toRecord(updated[0], clock.instant());
        }, audit);
        ctx.header("ETag", CustomerWriter.etag(written.version()));
        return updated[0];
    }

    private static Optional<Long> ifMatch(Context ctx) {
        String header = ctx.header("If-Match");
        if (header == null) {
            return Optional.empty();
        }
        String value = header.strip();
        if (value.equals("*")) { // RFC 9110: whatever version is current, as long as there is one
            return Optional.of(CustomerWriter.ANY_VERSION);
        }
        if (value.startsWith("W/")) {
            value = value.substring(2);
        }
        if (value.length() >= 2 && value.startsWith("\"") && value.endsWith("\"")) {
            value = value.substring(1, value.length() - 1);
        }
        try {
            long version = Long.parseLong(value);
            if (version >= 0) {
                return Optional.of(version);
            }
        } catch (NumberFormatException e) {
            // refused below
        }
        throw new ApiException(400, "invalid_request", "If-Match must be one ETag this API answered, like \"42\", or *");
    }

    /**
     * A customer's own key resets its runaway breakers at most once per cool-down of its rule, so a leaked key cannot keep
     * a tripped breaker open by resetting it again and again (an admin key can: 429 otherwise, with when it may).
     */
    private void refuseEarlyReset(String id, Instant at) {
        Instant last = customers.get(id).map(CustomerRecord::getRunawayResetAt).orElse(null);
        Optional<java.time.Duration> coolDown = current(id).flatMap(c -> policy().flatMap(p -> c.runawayRule(p.plan(c.plan()))))
                .map(io.capstream.policy.runaway.RunawayRule::coolDown);
        if (last != null && coolDown.isPresent() && last.plus(coolDown.get()).isAfter(at)) {
            Instant next = last.plus(coolDown.get());
            long seconds = Math.max(1, java.time.Duration.between(at, next).toSeconds());
            throw new ApiException(429, "reset_too_soon", "the runaway breakers of " + id + " were reset at " + last + "; with its own key a"
                    + " customer may reset them once per cool-down (" + coolDown.get().toMinutes() + " minutes), next at " + next
                    + " (an admin key may reset them now)", Map.of("next_reset_at", next.toString()), Map.of("Retry-After", Long.toString(seconds)));
        }
    }

    private Optional<Customer> current(String id) {
        return customers.get(id).map(CustomerMapping::fromRecord);
    }

    private Customer unconfigured(String id) {
        return Customer.unconfigured(id, policy().flatMap(PolicyDocument::defaultPlan).orElse(null));
    }

    private Optional<PolicyDocument> policy() {
        return policy.get();
    }

    private Set<String> knownPlans() {
        return policy().map(p -> p.plans().keySet()).orElse(Set.of());
    }

    private Principal authorize(Context ctx, String customer, boolean adminOnly) {
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (principal.isAdmin() || (!adminOnly && principal.canRead(customer))) {
            return principal;
        }
        throw ApiException.forbidden(adminOnly ? "this needs an API key with the 'admin' scope"
                : "this API key may not read or change customer '" + customer + "'");
    }

    /** A cap change by the customer's own key counts against its rate, valid or not (a refusal is before any work). */
    private void limitCapChanges(Principal who, String customer) {
        if (who.isAdmin()) {
            return;
        }
        capChanges.takeOrRefuse(customer, "cap_changes_rate_limited", "change its caps at most " + CAP_CHANGES_PER_SECOND + " times a second",
                "; nothing was changed");
    }

    private Principal admin(Context ctx) {
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (principal.isAdmin()) {
            return principal;
        }
        throw ApiException.forbidden("this needs an API key with the 'admin' scope");
    }

    private static String identifier(String id) {
        if (!Specs.isIdentifier(id)) {
            throw new ApiException(400, "invalid_request", "customer ids are letters, digits and _ . : @ / - (at most 128)");
        }
        return id;
    }

    private static JsonNode body(Context ctx) {
        return HttpServer.jsonBody(ctx);
    }

}

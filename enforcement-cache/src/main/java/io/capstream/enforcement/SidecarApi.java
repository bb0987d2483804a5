package io.capstream.enforcement;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.input.Specs;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.runtime.DirectRoute;
import io.capstream.runtime.Json;
import com.fasterxml.jackson.core.JsonGenerator;
import com.fasterxml.jackson.core.util.ByteArrayBuilder;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletionStage;

/**
 * {@code POST /v1/check} for services not on the JVM: the {@link Enforcer}'s decision as JSON, with
 * the status of DESIGN 4.5 (200 allow / warn / downgrade, 402, 403, 429, 503) and {@code Retry-After}
 * where it applies.
 */
final class SidecarApi {
    private final Enforcer enforcer;
    private final ApiKeys keys;

    SidecarApi(Enforcer enforcer, ApiKeys keys) {
        this.enforcer = enforcer;
        this.keys = keys;
    }

    /** {@code POST /v1/check}, served directly on Jetty's core API ({@link DirectRoute}): it never blocks. */
    Map<String, DirectRoute> routes() {
        return Map.of("/v1/check", this::check);
    }

    private CompletionStage<DirectRoute.Answer> check(String authorization, byte[] body) {
        Principal principal = keys.authenticate(authorization).orElseThrow(ApiException::unauthorized);
        if (!principal.isAdmin() && !principal.scopes().contains("check")) {
            throw ApiException.forbidden("this API key has no 'check' scope");
        }
        // the common shape without a tree; anything else read in full, which names every problem
        Optional<CheckRequest> simple = Specs.simpleCheckRequest(Json.MAPPER.getFactory(), body);
        CheckRequest request = simple.isPresent() ? CheckRequest.priceable(simple.get(), enforcer.policy())
                : CheckRequest.read(HttpServer.jsonObject(body), enforcer.policy());
        return enforcer.checkValidatedAsync(request).thenApply(SidecarApi::answer);
    }

    /** The most common answer, written once: a decision is a value, and a plain allow is always the same one. */
    private static final Decision ALLOWED = Decision.allowed(List.of());
    private static final DirectRoute.Answer ALLOWED_ANSWER = write(ALLOWED);

    static DirectRoute.Answer answer(Decision decision) {
        return decision == ALLOWED ? ALLOWED_ANSWER : write(decision);
    }

    private static DirectRoute.Answer write(Decision decision) {
        List<DirectRoute.Header> headers = new ArrayList<>(3);
        decision.retryAfter().ifPresent(d -> headers.add(new DirectRoute.Header("Retry-After", Long.toString(Decision.retryAfterSeconds(d)))));
        decision.rateLimit().ifPresent(r -> {
            // IETF httpapi RateLimit fields: the policy (quota per window) and what is left now
            headers.add(new DirectRoute.Header("RateLimit-Policy", "\"" + r.policy() + "\";q=" + r.quota() + ";w=" + r.window().toSeconds()));
            headers.add(new DirectRoute.Header("RateLimit", "\"" + r.policy() + "\";r=0;t=" + Decision.retryAfterSeconds(r.reset())));
        });
        ByteArrayBuilder bytes = new ByteArrayBuilder(256);
        try (JsonGenerator json = Json.MAPPER.getFactory().createGenerator(bytes)) {
            body(json, decision);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return new DirectRoute.Answer(status(decision), headers, bytes.toByteArray());
    }

    /** The HTTP status of a decision (DESIGN 4.5): the one place codes become statuses. */
    static int status(Decision d) {
        return switch (d.code()) {
            case ALLOW, WARN, DOWNGRADE -> 200;
            case INVALID_REQUEST -> 400;
            case CUSTOMER_DISABLED, MODEL_NOT_ALLOWED -> 403;
            case KEY_RATE_LIMITED, CIRCUIT_OPEN -> 429;
            case SPEND_CAP_REACHED, PLAN_ALLOWANCE_EXHAUSTED, BALANCE_TOO_LOW -> d.throttles() ? 429 : 402;
            case USAGE_STATE_UNAVAILABLE -> 503;
        };
    }

    /** The body of DESIGN 4.5, streamed (no maps in between); a refusal is wrapped in {@code "error"}. */
    private static void body(JsonGenerator json, Decision d) throws IOException {
        boolean refused = d.outcome() == Decision.Outcome.REFUSE;
        if (refused) {
            json.writeStartObject();
            json.writeFieldName("error");
        }
        json.writeStartObject();
        json.writeStringField("decision", d.outcome().name().toLowerCase(java.util.Locale.ROOT));
        json.writeStringField("code", d.code().wire());
        json.writeStringField("message", d.message());
        optional(json, "model", d.model());
        optional(json, "reservation_id", d.reservationId());
        if (d.limit().isPresent()) {
            json.writeFieldName("limit");
            limit(json, d.limit().get());
        }
        json.writeArrayFieldStart("warnings");
        for (Decision.LimitInfo w : d.warnings()) {
            limit(json, w);
        }
        json.writeEndArray();
        if (d.retryAfter().isPresent()) {
            json.writeNumberField("retry_after", Decision.retryAfterSeconds(d.retryAfter().get()));
        }
        json.writeBooleanField("degraded", d.degraded());
        json.writeEndObject();
        if (refused) {
            json.writeEndObject();
        }
    }

    private static void limit(JsonGenerator json, Decision.LimitInfo l) throws IOException {
        json.writeStartObject();
        json.writeStringField("id", l.id());
        json.writeStringField("label", l.label());
        json.writeStringField("measure", l.measure());
        json.writeStringField("used", l.used());
        json.writeStringField("limit", l.limit());
        json.writeStringField("percent", l.percent());
        json.writeStringField("resets_at", l.resetsAt().toString());
        json.writeStringField("timezone", l.timezone());
        optional(json, "raise_cap_url", l.raiseCapUrl());
        optional(json, "upgrade_url", l.upgradeUrl());
        optional(json, "top_up_url", l.topUpUrl());
        json.writeEndObject();
    }

    private static void optional(JsonGenerator json, String name, Optional<String> value) throws IOException {
        if (value.isPresent()) {
            json.writeStringField(name, value.get());
        }
    }
}

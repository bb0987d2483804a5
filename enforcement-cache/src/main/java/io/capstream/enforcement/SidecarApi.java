package io.capstream.enforcement;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.runtime.DirectRoute;
import io.capstream.runtime.Json;
import com.fasterxml.jackson.core.JsonProcessingException;
import java.io.UncheckedIOException;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
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
        CheckRequest request = CheckRequest.read(HttpServer.jsonObject(body), enforcer.policy());
        return enforcer.checkValidatedAsync(request).thenApply(SidecarApi::answer);
    }

    static DirectRoute.Answer answer(Decision decision) {
        List<DirectRoute.Header> headers = new ArrayList<>(3);
        decision.retryAfter().ifPresent(d -> headers.add(new DirectRoute.Header("Retry-After", Long.toString(Decision.retryAfterSeconds(d)))));
        decision.rateLimit().ifPresent(r -> {
            // IETF httpapi RateLimit fields: the policy (quota per window) and what is left now
            headers.add(new DirectRoute.Header("RateLimit-Policy", "\"" + r.policy() + "\";q=" + r.quota() + ";w=" + r.window().toSeconds()));
            headers.add(new DirectRoute.Header("RateLimit", "\"" + r.policy() + "\";r=0;t=" + Decision.retryAfterSeconds(r.reset())));
        });
        try {
            return new DirectRoute.Answer(status(decision), headers, Json.MAPPER.writeValueAsBytes(body(decision)));
        } catch (JsonProcessingException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** The HTTP status of a decision (DESIGN 4.5): the one place codes become statuses. */
    static int status(Decision d) {
        return switch (d.code()) {
            case ALLOW, WARN, DOWNGRADE -> 200;
            case INVALID_REQUEST -> 400;
            case CUSTOMER_DISABLED, MODEL_NOT_ALLOWED -> 403;
            case KEY_RATE_LIMITED -> 429;
            case SPEND_CAP_REACHED, PLAN_ALLOWANCE_EXHAUSTED, BALANCE_TOO_LOW -> d.throttles() ? 429 : 402;
            case USAGE_STATE_UNAVAILABLE -> 503;
        };
    }

    static Map<String, Object> body(Decision d) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("decision", d.outcome().name().toLowerCase());
        body.put("code", d.code().wire());
        body.put("message", d.message());
        d.model().ifPresent(m -> body.put("model", m));
        d.reservationId().ifPresent(r -> body.put("reservation_id", r));
        d.limit().ifPresent(l -> body.put("limit", limit(l)));
        body.put("warnings", d.warnings().stream().map(SidecarApi::limit).toList());
        d.retryAfter().ifPresent(r -> body.put("retry_after", Decision.retryAfterSeconds(r)));
        body.put("degraded", d.degraded());
        return d.outcome() == Decision.Outcome.REFUSE ? Map.of("error", body) : body;
    }

    private static Map<String, Object> limit(Decision.LimitInfo l) {
        Map<String, Object> m = new LinkedHashMap<>();
        m.put("id", l.id());
        m.put("label", l.label());
        m.put("measure", l.measure());
        m.put("used", l.used());
        m.put("limit", l.limit());
        m.put("percent", l.percent());
        m.put("resets_at", l.resetsAt().toString());
        m.put("timezone", l.timezone());
        l.raiseCapUrl().ifPresent(u -> m.put("raise_cap_url", u));
        l.upgradeUrl().ifPresent(u -> m.put("upgrade_url", u));
        l.topUpUrl().ifPresent(u -> m.put("top_up_url", u));
        return m;
    }
}

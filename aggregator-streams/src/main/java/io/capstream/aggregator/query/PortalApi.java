package io.capstream.aggregator.query;

import io.capstream.policy.input.Fields;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.PortalTokens;
import io.capstream.runtime.Principal;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.time.Clock;
import java.time.Instant;
import java.util.Optional;
import java.util.Set;

/**
 * The customer portal's API side: {@code POST /v1/customers/{id}/portal-tokens} (admin) mints a token
 * scoped to one customer ({@link PortalTokens}), which every API then accepts like a
 * {@code customer:<id>} key.
 */
public final class PortalApi {
    /** A token lives an hour unless asked otherwise. */
    static final int DEFAULT_TTL_SECONDS = 3600;

    /** What a minted token is, as answered. */
    public record MintedToken(String token, String customer, Instant expiresAt, String portalPath) {}

    private final ApiKeys keys;
    private final Optional<PortalTokens> tokens;
    private final Clock clock;

    public PortalApi(ApiKeys keys, Optional<PortalTokens> tokens, Clock clock) {
        this.keys = keys;
        this.tokens = tokens;
        this.clock = clock;
    }

    public void routes(JavalinConfig config) {
        config.routes.post("/v1/customers/{id}/portal-tokens", this::mint);
    }

    private void mint(Context ctx) {
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.isAdmin()) {
            throw ApiException.forbidden("minting portal tokens needs an API key with scope admin");
        }
        String customer = ctx.pathParam("id");
        Fields fields = new Fields();
        if (!Fields.isIdentifier(customer)) {
            fields.problems().add(new io.capstream.policy.input.Problem("id", "a customer id: letters, digits and _.:@/- , at most 128"));
        }
        int ttl = DEFAULT_TTL_SECONDS;
        if (ctx.bodyAsBytes().length > 0) {
            com.fasterxml.jackson.databind.JsonNode body = HttpServer.jsonBody(ctx);
            fields.unknown("", body, Set.of("ttl_seconds"));
            ttl = fields.integer("ttl_seconds", body.get("ttl_seconds"), 60, (int) PortalTokens.MAX_TTL.toSeconds(), DEFAULT_TTL_SECONDS,
                    "whole seconds from 60 to " + PortalTokens.MAX_TTL.toSeconds() + " (7 days)");
        }
        if (!fields.problems().isEmpty()) {
            throw ApiException.invalid(fields.problems());
        }
        PortalTokens signer = tokens.orElseThrow(() -> new ApiException(501, "portal_tokens_disabled",
                "portal tokens are not enabled on this deployment: set " + PortalTokens.KEYS + " on the query and ingest services"));
        Instant expires = clock.instant().plusSeconds(ttl);
        String token = signer.mint(customer, expires);
        HttpServer.json(ctx, 201, new MintedToken(token, customer, expires, "/portal#token=" + token));
    }
}

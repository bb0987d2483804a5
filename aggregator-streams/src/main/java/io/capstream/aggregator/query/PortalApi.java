package io.capstream.aggregator.query;

import io.capstream.policy.input.Fields;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.PortalTokens;
import io.capstream.runtime.Principal;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

/**
 * The customer portal: {@code POST /v1/customers/{id}/portal-tokens} (admin) mints a token scoped to
 * one customer ({@link PortalTokens}), which every API then accepts like a {@code customer:<id>} key;
 * {@code GET /portal} serves the usage page (static files, the chart library from its webjar), which
 * reads this service's APIs with the token. So that the page works from one origin (and in an
 * iframe), the customer's own configuration calls are passed to the control API ({@code control.url}):
 * {@code GET /v1/customers/{id}} and {@code PUT}/{@code DELETE /v1/customers/{id}/caps/{cap_id}}; the
 * control API authorizes them.
 */
public final class PortalApi {
    /** A token lives an hour unless asked otherwise. */
    static final int DEFAULT_TTL_SECONDS = 3600;

    /** What a minted token is, as answered. */
    public record MintedToken(String token, String customer, Instant expiresAt, String portalPath) {}

    /** The page's files: path under /portal → classpath resource and content type. */
    private static final Map<String, String[]> FILES = Map.of(
            "", new String[] {"/portal/index.html", "text/html; charset=utf-8"},
            "/portal.js", new String[] {"/portal/portal.js", "text/javascript; charset=utf-8"},
            "/portal.css", new String[] {"/portal/portal.css", "text/css; charset=utf-8"},
            "/chart.umd.min.js", new String[] {"/META-INF/resources/webjars/chart.js/" + webjarVersion("chart.js") + "/dist/chart.umd.min.js",
                    "text/javascript; charset=utf-8"});

    /** The version of an npm webjar on the classpath (the pom names it once; the jar's paths carry it). */
    private static String webjarVersion(String artifact) {
        try (java.io.InputStream in = PortalApi.class.getResourceAsStream("/META-INF/maven/org.webjars.npm/" + artifact + "/pom.properties")) {
            java.util.Properties p = new java.util.Properties();
            p.load(in);
            return p.getProperty("version");
        } catch (java.io.IOException | NullPointerException e) {
            throw new IllegalStateException("the webjar " + artifact + " is missing from the classpath", e);
        }
    }

    private final ApiKeys keys;
    private final Optional<PortalTokens> tokens;
    private final Optional<String> controlUrl;
    private final String frameAncestors;
    private final Clock clock;
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();
    private final Map<String, byte[]> files = new ConcurrentHashMap<>();

    public PortalApi(ApiKeys keys, Optional<PortalTokens> tokens, Optional<String> controlUrl, String frameAncestors, Clock clock) {
        this.keys = keys;
        this.tokens = tokens;
        this.controlUrl = controlUrl.map(u -> u.endsWith("/") ? u.substring(0, u.length() - 1) : u);
        this.frameAncestors = frameAncestors;
        this.clock = clock;
    }

    public void routes(JavalinConfig config) {
        config.routes.post("/v1/customers/{id}/portal-tokens", this::mint);
        config.routes.get("/v1/customers/{id}", this::control);
        config.routes.put("/v1/customers/{id}/caps/{cap_id}", this::control);
        config.routes.delete("/v1/customers/{id}/caps/{cap_id}", this::control);
        config.routes.get("/portal", ctx -> file(ctx, ""));
        config.routes.get("/portal/{file}", ctx -> file(ctx, "/" + ctx.pathParam("file")));
    }

    private void file(Context ctx, String name) {
        String[] file = FILES.get(name);
        if (file == null) {
            throw new ApiException(404, "not_found", "no such file of the portal: " + name);
        }
        byte[] body = files.computeIfAbsent(name, n -> {
            try (java.io.InputStream in = PortalApi.class.getResourceAsStream(file[0])) {
                if (in == null) {
                    throw new IllegalStateException("the portal's " + file[0] + " is missing from the classpath");
                }
                return in.readAllBytes();
            } catch (java.io.IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        // the token travels in the URL's fragment, never to a server; no other origin is called, no referrer leaves
        ctx.header("Content-Security-Policy", "default-src 'self'; img-src 'self' data:; style-src 'self'; frame-ancestors " + frameAncestors)
                .header("Referrer-Policy", "no-referrer").header("X-Content-Type-Options", "nosniff")
                .header("Cache-Control", name.isEmpty() ? "no-store" : "max-age=300")
                .contentType(file[1]).result(body);
    }

    /**
     * Passes a customer's configuration call to the control API, with its key or token, and answers what it answered. Only a
     * key or token this service knows may read the customer is passed on: anything else is refused here, as the control API
     * would refuse it, without the cost of a call.
     */
    private void control(Context ctx) {
        String base = controlUrl.orElseThrow(() -> new ApiException(501, "control_api_not_configured",
                "this query service does not pass configuration calls on: set control.url (or call the control API directly)"));
        String customer = ctx.pathParam("id");
        if (!keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized).canRead(customer)) {
            throw ApiException.forbidden("this API key may not read or change customer '" + customer + "'");
        }
        byte[] body = ctx.bodyAsBytes();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + ctx.path())).timeout(Duration.ofSeconds(10))
                .method(ctx.method().name(), body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        for (String header : new String[] {"Authorization", "Content-Type", "If-Match"}) {
            Optional.ofNullable(ctx.header(header)).ifPresent(v -> request.header(header, v));
        }
        try {
            HttpResponse<byte[]> response = http.send(request.build(), HttpResponse.BodyHandlers.ofByteArray());
            for (String header : new String[] {"ETag", "Retry-After", "WWW-Authenticate"}) {
                response.headers().firstValue(header).ifPresent(v -> ctx.header(header, v));
            }
            ctx.status(response.statusCode()).contentType(response.headers().firstValue("Content-Type").orElse("application/json"))
                    .result(response.body());
        } catch (java.io.IOException e) {
            throw ApiException.unavailable("control_api_unavailable", "the control API at " + base + " did not answer; try again", 1);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw ApiException.unavailable("control_api_unavailable", "interrupted", 1);
        }
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

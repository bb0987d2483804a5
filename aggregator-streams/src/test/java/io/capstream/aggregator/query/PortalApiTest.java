package io.capstream.aggregator.query;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.PortalTokens;
import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The query service's pass-through of a customer's configuration calls, in front of a real HTTP server standing in for the
 * control API that records what reaches it: only a key or token that may read the customer is passed on.
 */
class PortalApiTest {
    static final String ADMIN = "admin-key";
    static final String ACME = "acme-key";
    final HttpClient http = HttpClient.newHttpClient();
    final List<String> passedOn = new CopyOnWriteArrayList<>();
    com.sun.net.httpserver.HttpServer control;
    Javalin query;
    PortalTokens tokens;

    @BeforeEach
    void start() throws Exception {
        control = com.sun.net.httpserver.HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
        control.createContext("/", exchange -> {
            passedOn.add(exchange.getRequestMethod() + " " + exchange.getRequestURI() + " " + exchange.getRequestHeaders().getFirst("Authorization"));
            byte[] body = "{\"id\": \"acme\"}".getBytes(StandardCharsets.UTF_8);
            exchange.getResponseHeaders().add("ETag", "\"7\"");
            exchange.sendResponseHeaders(200, body.length);
            exchange.getResponseBody().write(body);
            exchange.close();
        });
        control.start();
        tokens = PortalTokens.parse(io.capstream.testkit.TestSecrets.PORTAL_KEYS);
        ApiKeys keys = ApiKeys.parse("admin sha256:" + ApiKeys.hash(ADMIN) + " admin\nacme sha256:" + ApiKeys.hash(ACME) + " customer:acme\n", "test")
                .acceptingPortalTokens(Optional.of(tokens));
        PortalApi portal = new PortalApi(keys, Optional.of(tokens), Optional.of("http://127.0.0.1:" + control.getAddress().getPort() + "/"), "'none'",
                Clock.systemUTC());
        query = HttpServer.start("127.0.0.1", 0, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), "/openapi-query.json", () -> true, portal::routes);
    }

    @AfterEach
    void stop() {
        query.stop();
        control.stop(0);
    }

    HttpResponse<String> call(String method, String path, String key) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + query.port() + path))
                .method(method, HttpRequest.BodyPublishers.noBody());
        if (key != null) {
            request.header("Authorization", "Bearer " + key);
        }
        return http.send(request.build(), HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void aKeyOrTokenThatMayReadTheCustomerIsPassedOnWithItsAnswerAndHeaders() throws Exception {
        String token = tokens.mint("acme", Instant.now().plusSeconds(600));
        for (String key : List.of(ACME, token, ADMIN)) {
            HttpResponse<String> answer = call("GET", "/v1/customers/acme", key);
            assertThat(answer.statusCode()).isEqualTo(200);
            assertThat(answer.body()).isEqualTo("{\"id\": \"acme\"}");
            assertThat(answer.headers().firstValue("ETag")).hasValue("\"7\"");
        }
        assertThat(passedOn).containsExactly("GET /v1/customers/acme Bearer " + ACME, "GET /v1/customers/acme Bearer " + token,
                "GET /v1/customers/acme Bearer " + ADMIN);
    }

    @Test
    void anUnknownMissingOrForeignKeyIsRefusedWithoutCallingTheControlApi() throws Exception {
        String foreignToken = tokens.mint("other", Instant.now().plusSeconds(600));
        String expired = tokens.mint("acme", Instant.now().minusSeconds(1));
        for (String key : new String[] {"nobody-key", null, expired}) {
            HttpResponse<String> answer = call("PUT", "/v1/customers/acme/caps/team", key);
            assertThat(answer.statusCode()).isEqualTo(401);
            assertThat(answer.headers().firstValue("WWW-Authenticate")).hasValueSatisfying(v -> assertThat(v).startsWith("Bearer"));
        }
        assertThat(call("GET", "/v1/customers/other", ACME).statusCode()).isEqualTo(403);
        assertThat(call("DELETE", "/v1/customers/acme/caps/team", foreignToken).statusCode()).isEqualTo(403);
        assertThat(passedOn).isEmpty();
    }
}

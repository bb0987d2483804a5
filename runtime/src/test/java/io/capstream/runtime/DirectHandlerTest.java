package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.Socket;
import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/** A direct route on a real server: answered on Jetty's core API, the rest of the API unchanged. */
class DirectHandlerTest {
    static Javalin server;

    @BeforeAll
    static void start() {
        DirectRoute echo = (authorization, body) -> {
            if (authorization == null) {
                throw ApiException.unauthorized();
            }
            String text = new String(body, StandardCharsets.UTF_8);
            if (text.equals("later")) { // completed by another thread, as a strict check's reservation is
                return CompletableFuture.supplyAsync(() -> answer(202, "{\"later\":true}"),
                        CompletableFuture.delayedExecutor(20, TimeUnit.MILLISECONDS, Executors.newVirtualThreadPerTaskExecutor()));
            }
            if (text.equals("fail")) {
                return CompletableFuture.failedFuture(new ApiException(503, "unavailable", "not now", Map.of(), Map.of("Retry-After", "1")));
            }
            return CompletableFuture.completedFuture(answer(200, "{\"echo\":" + HttpServer.jsonObject(body) + "}"));
        };
        server = HttpServer.start("127.0.0.1", 0, new PrometheusMeterRegistry(PrometheusConfig.DEFAULT), "/openapi-test.json", () -> true,
                config -> config.routes.get("/other", ctx -> ctx.result("javalin")), Map.of("/v1/echo", echo));
    }

    @AfterAll
    static void stop() {
        server.stop();
    }

    static DirectRoute.Answer answer(int status, String json) {
        return new DirectRoute.Answer(status, List.of(new DirectRoute.Header("X-Answer", "direct")), json.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void pipelinedRequestsOnOneKeptAliveConnectionAreAnsweredInOrder() throws IOException {
        String responses = raw(post("{\"n\":1}", true) + post("later", true) + post("{\"n\":3}", false));
        assertThat(responses.split("HTTP/1.1 ", -1)).hasSize(4);
        assertThat(responses.indexOf("{\"echo\":{\"n\":1}}")).isLessThan(responses.indexOf("{\"later\":true}"));
        assertThat(responses.indexOf("{\"later\":true}")).isLessThan(responses.indexOf("{\"echo\":{\"n\":3}}"));
        assertThat(responses).contains("HTTP/1.1 200", "HTTP/1.1 202", "X-Answer: direct", "Content-Type: application/json");
    }

    @Test
    void errorsAreTheApisJsonErrorsWithTheirHeaders() throws IOException {
        assertThat(raw("POST /v1/echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}"))
                .startsWith("HTTP/1.1 401").contains("WWW-Authenticate: Bearer", "{\"error\":{\"code\":\"unauthorized\"");
        assertThat(raw(post("fail", false))).startsWith("HTTP/1.1 503").contains("Retry-After: 1", "\"code\":\"unavailable\"");
        assertThat(raw(post("[1,", false))).startsWith("HTTP/1.1 400").contains("\"code\":\"invalid_json\"");
        assertThat(raw("GET /v1/echo HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"))
                .startsWith("HTTP/1.1 405").contains("Allow: POST", "\"code\":\"method_not_allowed\"");
    }

    @Test
    void aBodyOverTheBoundIsRefusedWithoutReadingIt() throws IOException {
        String big = "x".repeat(DirectHandler.MAX_BODY + 1);
        assertThat(raw(post(big, false))).startsWith("HTTP/1.1 413").contains("\"code\":\"payload_too_large\"", Integer.toString(DirectHandler.MAX_BODY));
    }

    @Test
    void everyOtherRouteIsStillJavalins() throws IOException {
        assertThat(raw("GET /other HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 200").endsWith("javalin");
        assertThat(raw("GET /health/live HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 200").contains("\"up\"");
        assertThat(raw("GET /nowhere HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")).startsWith("HTTP/1.1 404").contains("\"not_found\"");
    }

    private static String post(String body, boolean keepAlive) {
        byte[] bytes = body.getBytes(StandardCharsets.UTF_8);
        return "POST /v1/echo HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Type: application/json\r\nContent-Length: " + bytes.length
                + "\r\n" + (keepAlive ? "" : "Connection: close\r\n") + "\r\n" + body;
    }

    private static String raw(String requests) throws IOException {
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            out.write(requests.getBytes(StandardCharsets.UTF_8));
            out.flush();
            InputStream in = socket.getInputStream();
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }
}

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
    void aCompressedBodyIsRefusedNamingTheHeaderOnTheDirectRouteAndTheOthers() throws IOException {
        String gzip = "POST %s HTTP/1.1\r\nHost: x\r\nAuthorization: Bearer k\r\nContent-Encoding: gzip\r\nContent-Length: 2\r\nConnection: close\r\n\r\n{}";
        assertThat(raw(gzip.formatted("/v1/echo"))).startsWith("HTTP/1.1 415").contains("\"code\":\"unsupported_content_encoding\"", "Content-Encoding gzip");
        assertThat(raw(gzip.formatted("/other"))).startsWith("HTTP/1.1 415").contains("\"code\":\"unsupported_content_encoding\"");
        assertThat(raw(gzip.replace("gzip", "identity").formatted("/v1/echo"))).startsWith("HTTP/1.1 200");
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

    @Test
    void h2cByPriorKnowledgeServesTheDirectRouteAndAnUpgradeRequestStaysOnHttp1() throws Exception {
        try (Socket socket = new Socket("127.0.0.1", server.port())) {
            socket.setSoTimeout(10_000);
            OutputStream out = socket.getOutputStream();
            java.io.ByteArrayOutputStream request = new java.io.ByteArrayOutputStream();
            request.write("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".getBytes(StandardCharsets.US_ASCII));
            request.write(frame(0x4, 0, 0, new byte[0])); // SETTINGS
            java.io.ByteArrayOutputStream headers = new java.io.ByteArrayOutputStream();
            for (String[] field : new String[][] {{":method", "POST"}, {":scheme", "http"}, {":path", "/v1/echo"}, {":authority", "127.0.0.1"},
                    {"authorization", "Bearer k"}, {"content-type", "application/json"}}) {
                headers.write(0x00); // HPACK: literal, not indexed, new name
                for (String part : field) {
                    headers.write(part.length());
                    headers.write(part.getBytes(StandardCharsets.US_ASCII));
                }
            }
            request.write(frame(0x1, 0x4, 1, headers.toByteArray())); // HEADERS, END_HEADERS, stream 1
            request.write(frame(0x0, 0x1, 1, "{\"n\":7}".getBytes(StandardCharsets.UTF_8))); // DATA, END_STREAM
            out.write(request.toByteArray());
            out.flush();

            java.io.DataInputStream in = new java.io.DataInputStream(socket.getInputStream());
            byte[] status = null;
            java.io.ByteArrayOutputStream body = new java.io.ByteArrayOutputStream();
            while (true) {
                int length = (in.readUnsignedByte() << 16) | (in.readUnsignedByte() << 8) | in.readUnsignedByte();
                int type = in.readUnsignedByte();
                int flags = in.readUnsignedByte();
                int stream = in.readInt() & 0x7fffffff;
                byte[] payload = in.readNBytes(length);
                if (stream == 1 && type == 0x1) {
                    status = payload;
                } else if (stream == 1 && type == 0x0) {
                    body.write(payload);
                }
                if (stream == 1 && (flags & 0x1) != 0) {
                    break;
                }
            }
            assertThat(status).isNotEmpty();
            int i = 0;
            while ((status[i] & 0xe0) == 0x20) { // HPACK dynamic table size updates come first: skip them
                boolean more = (status[i++] & 0x1f) == 0x1f;
                while (more) {
                    more = (status[i++] & 0x80) != 0;
                }
            }
            assertThat(status[i]).isEqualTo((byte) 0x88); // HPACK static table index 8: ":status: 200"
            assertThat(body.toString(StandardCharsets.UTF_8)).isEqualTo("{\"echo\":{\"n\":7}}");
        }
        // the JDK client asks to upgrade by default: it is answered on HTTP/1.1, as before
        java.net.http.HttpResponse<String> upgraded = java.net.http.HttpClient.newHttpClient().send(
                java.net.http.HttpRequest.newBuilder(java.net.URI.create("http://127.0.0.1:" + server.port() + "/health/live")).build(),
                java.net.http.HttpResponse.BodyHandlers.ofString());
        assertThat(upgraded.version()).isEqualTo(java.net.http.HttpClient.Version.HTTP_1_1);
        assertThat(upgraded.statusCode()).isEqualTo(200);
    }

    /** An HTTP/2 frame: 24-bit length, type, flags, stream id, payload. */
    private static byte[] frame(int type, int flags, int stream, byte[] payload) {
        java.nio.ByteBuffer b = java.nio.ByteBuffer.allocate(9 + payload.length);
        b.put((byte) (payload.length >> 16)).put((byte) (payload.length >> 8)).put((byte) payload.length);
        b.put((byte) type).put((byte) flags).putInt(stream).put(payload);
        return b.array();
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

package io.capstream.runtime;

import io.javalin.Javalin;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.javalin.http.HttpResponseException;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.io.IOException;
import java.io.InputStream;
import java.io.UncheckedIOException;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.BooleanSupplier;
import java.util.function.Consumer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The HTTP server every Capstream service runs: Javalin on Jetty with virtual threads, health at
 * {@code /health/live} and {@code /health/ready}, Prometheus metrics at {@code /metrics} (the service's own and the
 * JVM's: heap, heap after GC, GC pauses, threads, CPU), the service's
 * OpenAPI document at {@code /openapi.json}, and one mapping from errors to JSON answers.
 */
public final class HttpServer {
    private static final Logger LOG = LoggerFactory.getLogger(HttpServer.class);

    private HttpServer() {}

    /**
     * @param openApiResource classpath resource of the service's OpenAPI document
     * @param ready whether the service can do its work now (drives {@code /health/ready})
     * @param routes the service's own routes and settings
     */
    public static Javalin start(String host, int port, PrometheusMeterRegistry metrics, String openApiResource,
                                BooleanSupplier ready, Consumer<JavalinConfig> routes) {
        return start(host, port, metrics, openApiResource, ready, routes, Map.of());
    }

    /**
     * @param direct POST endpoints on the hot path, by path: served on Jetty's core API without a
     *               servlet or a thread hand-off ({@link DirectRoute}); every other route is Javalin's
     */
    public static Javalin start(String host, int port, PrometheusMeterRegistry metrics, String openApiResource,
                                BooleanSupplier ready, Consumer<JavalinConfig> routes, Map<String, DirectRoute> direct) {
        String openApi = resource(openApiResource);
        // the JVM's own figures (heap, heap after GC, GC pauses, threads, CPU), as the on-call dashboard charts them
        new io.micrometer.core.instrument.binder.jvm.JvmMemoryMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.jvm.JvmThreadMetrics().bindTo(metrics);
        new io.micrometer.core.instrument.binder.system.ProcessorMetrics().bindTo(metrics);
        io.micrometer.core.instrument.binder.jvm.JvmGcMetrics gc = new io.micrometer.core.instrument.binder.jvm.JvmGcMetrics();
        gc.bindTo(metrics);
        Javalin app = Javalin.create(config -> {
            config.events.serverStopped(gc::close); // its GC listeners go with the server (tests start many in one JVM)
            config.jetty.host = host;
            config.jetty.port = port;
            config.concurrency.useVirtualThreads = true;
            if (!direct.isEmpty()) {
                // platform threads select and run the direct routes; Javalin's blocking routes run on virtual threads
                org.eclipse.jetty.util.thread.QueuedThreadPool pool = new org.eclipse.jetty.util.thread.QueuedThreadPool();
                pool.setName("http");
                pool.setVirtualThreadsExecutor(org.eclipse.jetty.util.VirtualThreads.getNamedVirtualThreadsExecutor("http-virtual"));
                config.jetty.threadPool = pool;
            }
            // HTTP/1.1, and HTTP/2 without TLS for clients that know to speak it (prior knowledge), on one port
            config.jetty.addConnector((server, http) -> {
                org.eclipse.jetty.server.ServerConnector connector = new org.eclipse.jetty.server.ServerConnector(server, -1, SELECTORS,
                        new org.eclipse.jetty.server.HttpConnectionFactory(http), new PriorKnowledgeH2c(http));
                connector.setHost(host);
                connector.setPort(port);
                return connector;
            });
            config.startup.showJavalinBanner = false;
            config.http.prefer405over404 = true;
            // requests Jetty refuses before routing (a %00 in the path, a 10 kB URL) answer JSON too
            config.jetty.modifyServer(server -> {
                server.setErrorHandler(new JsonErrorHandler());
                if (!direct.isEmpty()) {
                    server.setHandler(new DirectHandler(direct)); // Javalin attaches its servlet inside it
                }
            });
            config.jetty.modifyServletContextHandler(context -> context.setErrorHandler(new JsonErrorHandler()));
            config.routes.before(ctx -> {
                ApiException refused = encodingRefused(ctx.header("Content-Encoding"));
                if (refused != null) {
                    throw refused;
                }
            });
            config.routes.get("/health/live", ctx -> ctx.json(Map.of("status", "up")));
            config.routes.get("/health/ready", ctx -> {
                boolean ok = ready.getAsBoolean();
                ctx.status(ok ? 200 : 503).contentType("application/json")
                        .result("{\"status\":\"" + (ok ? "ready" : "not_ready") + "\"}");
            });
            config.routes.get("/metrics", ctx -> ctx.contentType("text/plain; version=0.0.4").result(metrics.scrape()));
            // answers by status (errors included): what an on-call engineer alerts on, e.g. ingest's 503s
            Map<Integer, io.micrometer.core.instrument.Counter> byStatus = new java.util.concurrent.ConcurrentHashMap<>();
            config.routes.after(ctx -> byStatus.computeIfAbsent(ctx.statusCode(), status -> io.micrometer.core.instrument.Counter
                    .builder("capstream.http.responses").description("HTTP answers by status (POST /v1/check is counted by decision)")
                    .tag("status", Integer.toString(status)).register(metrics)).increment());
            config.routes.get("/openapi.json", ctx -> ctx.contentType("application/json").result(openApi));
            config.routes.exception(ApiException.class, (e, ctx) -> writeError(ctx, e));
            config.routes.exception(io.capstream.policy.input.InvalidInputException.class, (e, ctx) -> writeError(ctx, ApiException.invalid(e.problems())));
            config.routes.exception(HttpResponseException.class, (e, ctx) ->
                    writeError(ctx, new ApiException(e.getStatus(), codeFor(e.getStatus()), e.getMessage())));
            config.routes.exception(Exception.class, (e, ctx) -> writeError(ctx, asApiException(e, ctx.method().name(), ctx.path())));
            config.routes.error(404, ctx -> {
                if (ctx.result() == null) {
                    writeError(ctx, new ApiException(404, "not_found", "no such endpoint: " + ctx.method() + " " + ctx.path()));
                }
            });
            config.routes.error(405, ctx -> writeError(ctx, new ApiException(405, "method_not_allowed",
                    ctx.method() + " is not allowed on " + ctx.path(), Map.of(), Map.of())));
            routes.accept(config);
        });
        return app.start();
    }

    /**
     * 415 for a body sent compressed (or in any coding but {@code identity}): no service inflates request bodies (no body can
     * grow past its bound after it was checked), and without this the answer would be a JSON error about byte 31.
     */
    static ApiException encodingRefused(String contentEncoding) {
        if (contentEncoding == null || contentEncoding.isBlank() || contentEncoding.strip().equalsIgnoreCase("identity")) {
            return null;
        }
        String coding = contentEncoding.length() > 32 ? contentEncoding.substring(0, 32) + "…" : contentEncoding;
        return new ApiException(415, "unsupported_content_encoding", "Content-Encoding " + coding
                + " is not accepted; send the body uncompressed", Map.of(), Map.of());
    }

    public static void writeError(Context ctx, ApiException e) {
        e.headers().forEach(ctx::header);
        ctx.status(e.status()).contentType("application/json").result(errorJson(e));
    }

    /** The same error as a {@link DirectRoute.Answer}. */
    static DirectRoute.Answer errorAnswer(ApiException e) {
        return new DirectRoute.Answer(e.status(), e.headers().entrySet().stream().map(h -> new DirectRoute.Header(h.getKey(), h.getValue())).toList(),
                errorJson(e).getBytes(java.nio.charset.StandardCharsets.UTF_8));
    }

    private static String errorJson(ApiException e) {
        Map<String, Object> error = new LinkedHashMap<>();
        error.put("code", e.code());
        error.put("message", e.getMessage());
        error.putAll(e.details());
        return write(Map.of("error", error));
    }

    /** What a failure of a request is answered with: its own status for the API's errors, otherwise 500 with a logged correlation id. */
    static ApiException asApiException(Throwable e, String method, String path) {
        if (e instanceof ApiException api) {
            return api;
        }
        if (e instanceof io.capstream.policy.input.InvalidInputException invalid) {
            return ApiException.invalid(invalid.problems());
        }
        String correlation = java.util.UUID.randomUUID().toString();
        LOG.error("{} {} failed (correlation id {})", method, path, correlation, e);
        return new ApiException(500, "internal_error", "the server failed to handle this request; it has been logged"
                + " with correlation id " + correlation, Map.of("correlation_id", correlation), Map.of());
    }

    /** The request body as one JSON object, or 400 {@code invalid_json} saying what is wrong (see {@link Json}). */
    public static com.fasterxml.jackson.databind.JsonNode jsonBody(Context ctx) {
        return jsonObject(ctx.bodyAsBytes());
    }

    /** A body as one JSON object, or 400 {@code invalid_json} saying what is wrong (see {@link Json}). */
    public static com.fasterxml.jackson.databind.JsonNode jsonObject(byte[] body) {
        com.fasterxml.jackson.databind.JsonNode node = readJson(body);
        if (!node.isObject()) {
            throw new ApiException(400, "invalid_json", "the body must be a JSON object");
        }
        return node;
    }

    /**
     * One JSON value, strictly ({@link Json}): trailing content, duplicate keys, deep nesting and huge
     * numbers are 400 {@code invalid_json} with the parser's reason and where it stopped.
     */
    public static com.fasterxml.jackson.databind.JsonNode readJson(byte[] body) {
        try {
            com.fasterxml.jackson.databind.JsonNode node = Json.MAPPER.readTree(body);
            if (node == null || node.isMissingNode()) {
                throw new ApiException(400, "invalid_json", "the body is empty; a JSON document is expected");
            }
            return node;
        } catch (com.fasterxml.jackson.core.JsonProcessingException e) {
            com.fasterxml.jackson.core.JsonLocation at = e.getLocation();
            throw new ApiException(400, "invalid_json", "the body is not valid JSON: " + e.getOriginalMessage()
                    + (at == null ? "" : " at line " + at.getLineNr() + ", column " + at.getColumnNr()));
        } catch (IOException | RuntimeException e) { // NumberFormatException and the like from a malformed literal
            throw new ApiException(400, "invalid_json", "the body is not valid JSON");
        }
    }

    /** Writes a value as the response body with the API's JSON conventions. */
    public static void json(Context ctx, int status, Object body) {
        ctx.status(status).contentType("application/json").result(write(body));
    }

    private static String write(Object body) {
        try {
            return Json.MAPPER.writeValueAsString(body);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    private static String codeFor(int status) {
        return switch (status) {
            case 413 -> "payload_too_large";
            case 415 -> "unsupported_media_type";
            case 400 -> "bad_request";
            case 404 -> "not_found";
            case 405 -> "method_not_allowed";
            default -> "http_" + status;
        };
    }

    private static String resource(String name) {
        try (InputStream in = HttpServer.class.getResourceAsStream(name)) {
            if (in == null) {
                throw new IllegalStateException("missing classpath resource " + name);
            }
            return new String(in.readAllBytes(), java.nio.charset.StandardCharsets.UTF_8);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /**
     * Selector threads: at least two, so that one thread waiting for a core does not hold up every
     * connection (Jetty's default is one on a two-core machine). Measured with the sidecar benchmark,
     * three runs each: check p99 2.3–2.4 ms with two against 2.6–2.7 ms with one at 10,000/s, 2.6–2.8 ms
     * against 5.4–7.9 ms at 20,000/s (docs/performance.md).
     */
    static final int SELECTORS = Math.max(2, Runtime.getRuntime().availableProcessors() / 2);

    /**
     * h2c by prior knowledge only (a connection that opens with HTTP/2's preface, as a gateway
     * configured for it does): a request that asks to be upgraded from HTTP/1.1 stays on HTTP/1.1. The
     * JDK's {@code HttpClient} asks by default, and after an upgrade a body refused before it is read
     * (413) would reach it as a stream reset instead of an answer.
     */
    static final class PriorKnowledgeH2c extends org.eclipse.jetty.http2.server.HTTP2CServerConnectionFactory {
        PriorKnowledgeH2c(org.eclipse.jetty.server.HttpConfiguration http) {
            super(http);
        }

        @Override
        public org.eclipse.jetty.io.Connection upgradeConnection(org.eclipse.jetty.server.Connector connector, org.eclipse.jetty.io.EndPoint endPoint,
                                                                 org.eclipse.jetty.http.MetaData.Request request,
                                                                 org.eclipse.jetty.http.HttpFields.Mutable response101) {
            return "PRI".equals(request.getMethod()) ? super.upgradeConnection(connector, endPoint, request, response101) : null;
        }
    }
}

package io.capstream.notifier;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.time.Instant;
import java.util.Base64;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;

/**
 * A real HTTP webhook receiver on loopback that checks every signature with its own implementation
 * of the Standard Webhooks scheme (HMAC-SHA256 over {@code id.timestamp.body}, base64, {@code v1,}),
 * independent of the library the notifier signs with.
 */
final class WebhookReceiver implements AutoCloseable {
    record Received(String path, String id, Instant at, boolean signatureValid, String body) {}

    private final HttpServer server;
    private final byte[] key;
    final List<Received> received = new CopyOnWriteArrayList<>();
    private final Map<String, AtomicInteger> calls = new ConcurrentHashMap<>();

    /** {@code behaviour} per path: the status to answer on the n-th call (1-based), and how long to wait first. */
    interface Behaviour {
        int status(int call) throws InterruptedException;
    }

    WebhookReceiver(String secret, Map<String, Behaviour> paths) throws IOException {
        this.key = Base64.getDecoder().decode(secret.substring("whsec_".length()));
        this.server = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), 0), 0);
        server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
        paths.forEach((path, behaviour) -> server.createContext(path, exchange -> handle(path, behaviour, exchange)));
        server.start();
    }

    String url(String path) {
        return "http://127.0.0.1:" + server.getAddress().getPort() + path;
    }

    private void handle(String path, Behaviour behaviour, HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        String id = exchange.getRequestHeaders().getFirst("webhook-id");
        boolean valid = verify(id, exchange.getRequestHeaders().getFirst("webhook-timestamp"),
                exchange.getRequestHeaders().getFirst("webhook-signature"), body);
        received.add(new Received(path, id, Instant.now(), valid, body));
        int status;
        try {
            status = behaviour.status(calls.computeIfAbsent(path, p -> new AtomicInteger()).incrementAndGet());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            status = 500;
        }
        if (status == 429) {
            // as a hostile receiver would: a wait far beyond any horizon (and beyond what a timer in milliseconds holds)
            exchange.getResponseHeaders().add("Retry-After", "100000000000000000");
        }
        exchange.sendResponseHeaders(status, -1);
        exchange.close();
    }

    private boolean verify(String id, String timestamp, String signatures, String body) {
        if (id == null || timestamp == null || signatures == null) {
            return false;
        }
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(new SecretKeySpec(key, "HmacSHA256"));
            byte[] expected = mac.doFinal((id + "." + timestamp + "." + body).getBytes(StandardCharsets.UTF_8));
            for (String candidate : signatures.split(" ")) {
                String[] parts = candidate.split(",", 2);
                if (parts.length == 2 && parts[0].equals("v1")
                        && MessageDigest.isEqual(expected, Base64.getDecoder().decode(parts[1]))) {
                    return Math.abs(Instant.now().getEpochSecond() - Long.parseLong(timestamp)) < 300;
                }
            }
            return false;
        } catch (Exception e) {
            return false;
        }
    }

    List<Received> on(String path) {
        return received.stream().filter(r -> r.path().equals(path)).toList();
    }

    @Override
    public void close() {
        server.stop(0);
    }
}

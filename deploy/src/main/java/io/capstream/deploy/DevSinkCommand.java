package io.capstream.deploy;

import com.icegreen.greenmail.util.GreenMail;
import com.icegreen.greenmail.util.GreenMailUtil;
import com.icegreen.greenmail.util.ServerSetup;
import com.standardwebhooks.Webhook;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import jakarta.mail.internet.MimeMessage;
import java.io.IOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * The local stack's sink for what notifications send: a real SMTP server (GreenMail) and a webhook
 * receiver that checks Standard Webhooks signatures. {@code GET /} lists what arrived, newest last.
 */
@Command(name = "dev-sink", description = "Run a local SMTP server (GreenMail) and webhook receiver, and show what they received.")
final class DevSinkCommand implements Callable<Integer> {
    @Option(names = "--smtp-port", defaultValue = "3025")
    int smtpPort;

    @Option(names = "--http-port", defaultValue = "8025")
    int httpPort;

    @Option(names = "--webhook-secret", required = true, description = "The secret the demo customers' webhooks are signed with.")
    String secret;

    private record Hook(Instant at, String path, String id, boolean valid, String body) {}

    private final List<Hook> hooks = new CopyOnWriteArrayList<>();

    @Override
    public Integer call() throws Exception {
        GreenMail smtp = new GreenMail(new ServerSetup(smtpPort, "127.0.0.1", "smtp"));
        smtp.start();
        HttpServer http = HttpServer.create(new InetSocketAddress(InetAddress.getLoopbackAddress(), httpPort), 0);
        http.createContext("/webhooks/", this::webhook);
        http.createContext("/", exchange -> respond(exchange, 200, listing(smtp)));
        http.start();
        new CountDownLatch(1).await(); // until the process is stopped
        return 0;
    }

    private void webhook(HttpExchange exchange) throws IOException {
        String body = new String(exchange.getRequestBody().readAllBytes(), StandardCharsets.UTF_8);
        boolean valid;
        try {
            new Webhook(secret).verify(body, Map.of(
                    "webhook-id", List.of(String.valueOf(exchange.getRequestHeaders().getFirst("webhook-id"))),
                    "webhook-timestamp", List.of(String.valueOf(exchange.getRequestHeaders().getFirst("webhook-timestamp"))),
                    "webhook-signature", List.of(String.valueOf(exchange.getRequestHeaders().getFirst("webhook-signature")))));
            valid = true;
        } catch (Exception e) {
            valid = false;
        }
        hooks.add(new Hook(Instant.now(), exchange.getRequestURI().getPath(), exchange.getRequestHeaders().getFirst("webhook-id"), valid, body));
        respond(exchange, valid ? 204 : 401, "");
    }

    private String listing(GreenMail smtp) {
        StringBuilder out = new StringBuilder();
        MimeMessage[] mails = smtp.getReceivedMessages();
        out.append("== ").append(mails.length).append(" email(s) ==\n");
        for (MimeMessage m : mails) {
            try {
                out.append("\nTo: ").append(Arrays.toString(m.getAllRecipients())).append("\nSubject: ").append(m.getSubject())
                        .append("\nDate: ").append(m.getSentDate()).append("\n\n").append(text(m)).append("\n---\n");
            } catch (Exception e) {
                out.append("(unreadable message: ").append(e.getMessage()).append(")\n");
            }
        }
        out.append("\n== ").append(hooks.size()).append(" webhook(s) ==\n");
        for (Hook h : hooks) {
            out.append('\n').append(h.at()).append(" POST ").append(h.path()).append(" webhook-id ").append(h.id())
                    .append(h.valid() ? " (signature verified)" : " (SIGNATURE INVALID)").append('\n').append(h.body()).append('\n');
        }
        return out.toString();
    }

    private static String text(MimeMessage m) throws Exception {
        Object content = m.getContent();
        if (content instanceof jakarta.mail.Multipart multipart) {
            return String.valueOf(multipart.getBodyPart(0).getContent());
        }
        return GreenMailUtil.getBody(m);
    }

    private static void respond(HttpExchange exchange, int status, String text) throws IOException {
        byte[] bytes = text.getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", "text/plain; charset=utf-8");
        exchange.sendResponseHeaders(status, bytes.length == 0 ? -1 : bytes.length);
        if (bytes.length > 0) {
            exchange.getResponseBody().write(bytes);
        }
        exchange.close();
    }
}

package io.capstream.deploy;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.runtime.Json;
import java.io.IOException;
import java.io.PrintWriter;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Posts realistic traffic to the ingest API (several customers, users, keys, models and features, as
 * native JSON and as CloudEvents, with some batches sent twice as a retrying client would) and prints
 * each customer's usage as the query API reports it.
 */
@Command(name = "demo", description = "Post demo traffic and print usage per customer.")
final class DemoCommand implements Callable<Integer> {
    private static final String[] CUSTOMERS = {"acme", "globex", "initech", "umbrella"};
    private static final String[] MODELS = {"gpt-4o", "gpt-4o-mini", "claude-sonnet", "claude-opus"};
    private static final String[] FEATURES = {"chat", "drafts", "deep_research"};

    @Spec
    CommandSpec spec;

    @Mixin
    StackOptions stack;

    @Option(names = "--sink-url", defaultValue = "http://localhost:8025", description = "The local SMTP and webhook sink.")
    String sinkUrl;

    @Option(names = "--webhook-secret", required = true, description = "The secret acme's webhooks are signed with.")
    String webhookSecret;

    @Option(names = "--check-url", defaultValue = "http://localhost:8082", description = "The enforcement sidecar.")
    String checkUrl;

    @Option(names = "--events", defaultValue = "400")
    int events;

    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        configureCustomers(out);
        Map<String, Long> before = new HashMap<>();
        for (String customer : CUSTOMERS) {
            before.put(customer, eventCount(usage(customer)));
        }
        Random random = new Random();
        String run = Long.toString(Instant.now().getEpochSecond(), 36);
        Map<String, Long> sent = new HashMap<>();
        List<String> batch = new ArrayList<>();
        int batches = 0;
        int retried = 0;
        for (int i = 0; i < events; i++) {
            String customer = CUSTOMERS[Math.min(CUSTOMERS.length - 1, (int) Math.abs(random.nextGaussian() * 1.5))];
            String model = MODELS[random.nextInt(MODELS.length)];
            String feature = FEATURES[random.nextInt(10) < 6 ? 0 : 1 + random.nextInt(2)];
            int input = 200 + random.nextInt(feature.equals("deep_research") ? 40_000 : 4_000);
            int output = 50 + random.nextInt(1_500);
            batch.add(String.format("{\"id\":\"demo-%s-%d\",\"source\":\"demo\",\"customer\":\"%s\",\"user\":\"usr_%d\",\"api_key\":\"key_%s_%d\","
                            + "\"feature\":\"%s\",\"model\":\"%s\",\"time\":\"%s\",\"usage\":{\"input_tokens\":%d,\"output_tokens\":%d,\"requests\":1}}",
                    run, i, customer, random.nextInt(5), customer, random.nextInt(2), feature, model, Instant.now(), input, output));
            sent.merge(customer, 1L, Long::sum);
            if (batch.size() == 50 || i == events - 1) {
                String body = "[" + String.join(",", batch) + "]";
                post(body, "application/json");
                batches++;
                if (batches % 3 == 0) {
                    post(body, "application/json"); // a client retry after a timeout: counted once
                    retried++;
                }
                batch.clear();
            }
        }
        // one event as a CloudEvent, resent twice
        String cloudEvent = String.format("{\"specversion\":\"1.0\",\"id\":\"demo-%s-ce\",\"source\":\"demo/ce\",\"type\":\"capstream.usage\","
                + "\"subject\":\"acme\",\"time\":\"%s\",\"data\":{\"feature\":\"chat\",\"model\":\"gpt-4o\",\"usage\":{\"input_tokens\":1000}}}", run, Instant.now());
        for (int i = 0; i < 3; i++) {
            post(cloudEvent, "application/cloudevents+json");
        }
        sent.merge("acme", 1L, Long::sum);
        out.printf("Posted %d events in %d batches (%d batches sent twice, one CloudEvent sent three times).%n%n",
                events + 1, batches + 1, retried);

        Map<String, JsonNode> usage = awaitCounted(before, sent);
        // globex's admin sets a monthly budget just above what was used: the limit shows a soft warning
        java.math.BigDecimal globexSpend = new java.math.BigDecimal(usage.get("globex").path("total_cost").asText());
        String budget = globexSpend.divide(new java.math.BigDecimal("0.85"), 2, java.math.RoundingMode.UP).toPlainString();
        send("PUT", "/v1/customers/globex/caps/monthly-budget", "{\"label\": \"Monthly budget\", \"amount\": \"" + budget + "\"}");
        out.printf("globex set a monthly budget of $%s (just above the $%s used).%n%n", budget, globexSpend.toPlainString());
        usage.put("globex", awaitCap("globex", "cap:monthly-budget"));
        print(out, usage);
        printLimits(out, usage);
        printNotifications(out);
        printChecks(out);
        out.flush();
        return 0;
    }

    /** The customer's usage once the aggregator has applied a new cap (it starts from the spend so far). */
    private JsonNode awaitCap(String customer, String limitId) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(30).toNanos();
        JsonNode report = usage(customer);
        while (System.nanoTime() < deadline) {
            for (JsonNode limit : report.path("limits")) {
                if (limit.path("id").asText().equals(limitId) && new java.math.BigDecimal(limit.path("used").asText("0")).signum() > 0) {
                    return report;
                }
            }
            Thread.sleep(200);
            report = usage(customer);
        }
        return report;
    }

    private Map<String, JsonNode> awaitCounted(Map<String, Long> before, Map<String, Long> sent) throws Exception {
        long deadline = System.nanoTime() + Duration.ofSeconds(60).toNanos();
        while (true) {
            Map<String, JsonNode> usage = new HashMap<>();
            boolean complete = true;
            for (String customer : CUSTOMERS) {
                JsonNode u = usage(customer);
                usage.put(customer, u);
                complete &= eventCount(u) >= before.get(customer) + sent.getOrDefault(customer, 0L);
            }
            if (complete || System.nanoTime() > deadline) {
                return usage;
            }
            Thread.sleep(250);
        }
    }

    private void print(PrintWriter out, Map<String, JsonNode> usage) {
        out.println("Usage this billing period (each customer's own), read from the query API:");
        String format = "%-10s %-14s %7s %14s %14s %9s %14s%n";
        out.printf(format, "customer", "feature", "events", "input_tokens", "output_tokens", "requests", "cost (USD)");
        out.println("-".repeat(90));
        for (String customer : CUSTOMERS) {
            JsonNode u = usage.get(customer);
            for (JsonNode f : u.path("features")) {
                Map<String, java.math.BigDecimal> perMeter = new HashMap<>();
                for (JsonNode q : f.path("quantities")) {
                    perMeter.merge(q.path("meter").asText(), new java.math.BigDecimal(q.path("quantity").asText()), java.math.BigDecimal::add);
                }
                out.printf(format, customer, f.path("feature").asText(), f.path("events").asText(),
                        plain(perMeter.get("input_tokens")), plain(perMeter.get("output_tokens")), plain(perMeter.get("requests")),
                        f.path("cost").asText());
            }
            out.printf(format, "", "total", "", "", "", "", u.path("total_cost").asText());
        }
    }

    private void configureCustomers(PrintWriter out) throws IOException, InterruptedException {
        send("PUT", "/v1/customers/acme", "{\"plan\": \"pro\", \"timezone\": \"America/Los_Angeles\", \"billing_anchor_day\": 1,"
                + " \"contacts\": {\"emails\": [\"billing@acme.example\"], \"webhook_url\": \"" + sinkUrl + "/webhooks/acme\","
                + " \"webhook_secret\": \"" + webhookSecret + "\"}}");
        send("PUT", "/v1/customers/acme/caps/team-budget", "{\"label\": \"Team budget\", \"amount\": \"2.00\", \"action\": \"block\"}");
        send("PUT", "/v1/customers/globex", "{\"plan\": \"team\", \"timezone\": \"Europe/Berlin\", \"billing_anchor_day\": 15}");
        send("PUT", "/v1/customers/initech", "{\"plan\": \"free\", \"timezone\": \"Asia/Kolkata\"}");
        send("PUT", "/v1/customers/umbrella", "{\"plan\": \"enterprise\", \"timezone\": \"UTC\", \"overrides\": {\"no_hard_caps\": true}}");
        out.println("Configured acme (pro, Los Angeles, a $2 team budget), globex (team, Berlin), initech (free, Kolkata),"
                + " umbrella (enterprise, no hard caps).");
    }

    private void printLimits(PrintWriter out, Map<String, JsonNode> usage) {
        out.println();
        out.println("Limits (entitlements of the plan, and caps), from the query API:");
        String format = "%-10s %-26s %14s %14s %8s  %-9s %s%n";
        out.printf(format, "customer", "limit", "used", "limit", "percent", "state", "resets at (customer's time)");
        out.println("-".repeat(112));
        for (String customer : CUSTOMERS) {
            for (JsonNode l : usage.get(customer).path("limits")) {
                String unit = l.path("measure").asText().equals("USD") ? "$" : "";
                out.printf(format, customer, l.path("id").asText(), unit + l.path("used").asText(), unit + l.path("limit").asText(),
                        l.path("percent").asText() + "%", l.path("state").asText(), l.path("resets_at").asText());
            }
        }
    }

    /** What the notifier sent for the thresholds crossed: emails to the SMTP sink and signed webhooks. */
    private void printNotifications(PrintWriter out) throws IOException, InterruptedException {
        String listing = "";
        long deadline = System.nanoTime() + Duration.ofSeconds(20).toNanos();
        while (System.nanoTime() < deadline) {
            listing = http.send(HttpRequest.newBuilder(URI.create(sinkUrl + "/")).GET().build(), HttpResponse.BodyHandlers.ofString()).body();
            if (listing.contains("Subject: acme:") && listing.contains("/webhooks/acme")) {
                break;
            }
            Thread.sleep(500);
        }
        out.println();
        out.println("Notifications (threshold crossings), as the local SMTP server and webhook receiver got them:");
        listing.lines().filter(l -> l.startsWith("== ") || l.startsWith("Subject: ") || l.contains(" POST /webhooks/"))
                .forEach(l -> out.println("  " + l));
        if (listing.contains("== 0 email(s) ==")) {
            out.println("  (none since the sink started: each threshold fires once per period, and this period's already fired)");
        }
        out.println("Full messages: ./capstream mail");
    }

    /** What the enforcement sidecar answers before the next request of each customer. */
    private void printChecks(PrintWriter out) throws IOException, InterruptedException {
        out.println();
        out.println("Before the next request, the enforcement sidecar (POST /v1/check) answers:");
        String[][] checks = {
            {"acme", "chat", "gpt-4o"}, {"globex", "chat", "gpt-4o"}, {"initech", "chat", "claude-opus"}, {"umbrella", "deep_research", "claude-opus"}};
        for (String[] c : checks) {
            String body = String.format("{\"customer\": \"%s\", \"api_key\": \"key_demo\", \"feature\": \"%s\", \"model\": \"%s\","
                    + " \"estimate\": {\"input_tokens\": 2000, \"output_tokens\": 500}}", c[0], c[1], c[2]);
            HttpResponse<String> r = http.send(HttpRequest.newBuilder(URI.create(checkUrl + "/v1/check"))
                    .header("Authorization", "Bearer " + stack.key).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
            JsonNode answer = Json.MAPPER.readTree(r.body());
            JsonNode d = answer.has("error") ? answer.get("error") : answer;
            out.printf("  %-9s %-14s %-12s -> %d %s%s%n", c[0], c[1], c[2], r.statusCode(), d.path("code").asText(),
                    d.has("model") ? " (use " + d.get("model").asText() + ")" : "");
            if (r.statusCode() != 200 || d.path("warnings").size() > 0) {
                out.println("      " + (r.statusCode() != 200 ? d.path("message").asText()
                        : d.path("warnings").size() + " limit(s) at 80 % or more: " + d.path("warnings").findValuesAsText("id")));
            }
        }
    }

    private void send(String method, String path, String body) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(stack.ingestUrl + path))
                .header("Authorization", "Bearer " + stack.key).header("Content-Type", "application/json")
                .method(method, HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() / 100 != 2) {
            throw new IllegalStateException(method + " " + path + " answered " + response.statusCode() + ": " + response.body());
        }
    }

    private static String plain(java.math.BigDecimal value) {
        return value == null ? "0" : value.stripTrailingZeros().toPlainString();
    }

    private static long eventCount(JsonNode usage) {
        long n = 0;
        for (JsonNode f : usage.path("features")) {
            n += f.path("events").asLong();
        }
        return n;
    }

    private void post(String body, String contentType) throws IOException, InterruptedException {
        HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(stack.ingestUrl + "/v1/events"))
                .header("Authorization", "Bearer " + stack.key).header("Content-Type", contentType)
                .POST(HttpRequest.BodyPublishers.ofString(body)).build(), HttpResponse.BodyHandlers.ofString());
        if (response.statusCode() != 202) {
            throw new IllegalStateException("ingest answered " + response.statusCode() + ": " + response.body());
        }
    }

    private JsonNode usage(String customer) throws IOException, InterruptedException {
        for (int attempt = 0; ; attempt++) {
            HttpResponse<String> response = http.send(HttpRequest.newBuilder(URI.create(stack.queryUrl + "/v1/customers/" + customer + "/usage"))
                    .header("Authorization", "Bearer " + stack.key).GET().build(), HttpResponse.BodyHandlers.ofString());
            if (response.statusCode() == 200) {
                return Json.MAPPER.readTree(response.body());
            }
            if (response.statusCode() != 503 || attempt > 60) {
                throw new IllegalStateException("query API answered " + response.statusCode() + ": " + response.body());
            }
            Thread.sleep(500);
        }
    }
}

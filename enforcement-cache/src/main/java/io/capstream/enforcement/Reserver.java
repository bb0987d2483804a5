package io.capstream.enforcement;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.runtime.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;

/**
 * Strict mode from the sidecar: asks the aggregator (any instance; it routes to the owner of the
 * customer) to reserve the request's estimate on its strict caps, within a time bound.
 */
final class Reserver {
    /** Reserved (with its id), refused (with the aggregator's sentence), or not answered in time. */
    sealed interface Outcome {
        record Reserved(String id) implements Outcome {}

        record Refused(String message) implements Outcome {}

        record Unavailable(String why) implements Outcome {}
    }

    private final URI uri;
    private final String key;
    private final Duration timeout;
    private final HttpClient http;

    Reserver(String aggregatorUrl, String key, Duration timeout) {
        this.uri = URI.create(aggregatorUrl.replaceAll("/$", "") + "/v1/reservations");
        this.key = key;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** Asks for the reservation without waiting: completes with the outcome (never exceptionally) within the timeout. */
    CompletableFuture<Outcome> reserve(CheckRequest request) {
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("customer", request.customer());
        body.put("user", request.user());
        body.put("api_key", request.apiKey());
        body.put("feature", request.feature());
        body.put("model", request.model());
        Map<String, Object> estimate = new LinkedHashMap<>();
        request.estimate().forEach((m, q) -> estimate.put(m, q.toPlainString()));
        request.estimatedCost().ifPresent(c -> estimate.put("cost", c.toPlainString()));
        body.put("estimate", estimate);
        HttpRequest post;
        try {
            post = HttpRequest.newBuilder(uri).timeout(timeout)
                    .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                    .POST(HttpRequest.BodyPublishers.ofString(Json.MAPPER.writeValueAsString(body))).build();
        } catch (IOException e) {
            return CompletableFuture.completedFuture(new Outcome.Unavailable("the reservation could not be written: " + e.getMessage()));
        }
        return http.sendAsync(post, HttpResponse.BodyHandlers.ofString()).handle((response, failure) -> {
            if (failure != null) {
                return new Outcome.Unavailable("the aggregator did not answer in " + timeout.toMillis() + " ms");
            }
            try {
                JsonNode answer = Json.MAPPER.readTree(response.body());
                return switch (response.statusCode()) {
                    case 200, 201 -> new Outcome.Reserved(answer.path("reservation_id").asText());
                    case 402 -> new Outcome.Refused(answer.path("error").path("message").asText());
                    default -> new Outcome.Unavailable("the aggregator answered " + response.statusCode());
                };
            } catch (IOException e) {
                return new Outcome.Unavailable("the aggregator's answer could not be read (" + response.statusCode() + ")");
            }
        });
    }

    static Optional<Reserver> of(String aggregatorUrl, String key, Duration timeout) {
        return aggregatorUrl == null || aggregatorUrl.isBlank() ? Optional.empty() : Optional.of(new Reserver(aggregatorUrl, key, timeout));
    }
}

package io.capstream.notifier;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.standardwebhooks.Webhook;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.input.WebhookDestinations;
import io.capstream.runtime.Json;
import io.capstream.schemas.ThresholdCrossed;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Clock;
import java.time.Duration;
import java.time.ZonedDateTime;
import java.time.format.DateTimeFormatter;
import java.time.format.DateTimeParseException;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Webhooks per the Standard Webhooks specification: {@code webhook-id} (the threshold event's id,
 * stable per customer, limit, period and threshold, so receivers drop duplicates by it),
 * {@code webhook-timestamp}, and {@code webhook-signature} signed with the customer's secret.
 * The payload's type is {@code limit.threshold_crossed}, with every field the event carries.
 */
final class WebhookSender {
    static final String TYPE = "limit.threshold_crossed";
    /** A runaway circuit breaker opened (a threshold event of kind {@code runaway}). */
    static final String RUNAWAY_TYPE = "runaway.breaker_opened";

    private final HttpClient http;
    private final Duration timeout;
    private final Clock clock;
    private final java.util.Set<String> allowedHosts;

    /** @param allowedHosts hosts that may be reached over http and on private addresses (development); see {@link WebhookDestinations} */
    WebhookSender(Duration timeout, Clock clock, java.util.Set<String> allowedHosts) {
        this.http = HttpClient.newBuilder().connectTimeout(timeout).followRedirects(HttpClient.Redirect.NEVER).build();
        this.timeout = timeout;
        this.clock = clock;
        this.allowedHosts = java.util.Set.copyOf(allowedHosts);
    }

    /**
     * Why this URL may not be called now, or null: the URL rules of the control API again (the record may
     * predate them), then every address the host resolves to, so a public name that points inside is refused.
     */
    String destinationProblem(String url) {
        String problem = WebhookDestinations.problem(url, allowedHosts);
        URI uri = URI.create(url);
        if (problem != null || WebhookDestinations.allowed(uri.getHost(), uri.getPort(), allowedHosts)) {
            return problem;
        }
        try {
            for (java.net.InetAddress address : java.net.InetAddress.getAllByName(uri.getHost())) {
                String bad = WebhookDestinations.addressProblem(address);
                if (bad != null) {
                    return "the host " + uri.getHost() + " resolves to " + bad;
                }
            }
            return null;
        } catch (java.net.UnknownHostException e) {
            return "";  // not resolvable now: a retry may succeed
        }
    }

    static String payload(ThresholdCrossed e) {
        return payload(e, List.of(e.getThreshold()));
    }

    /** @param thresholds every threshold this notification is about, lowest first ({@code e}'s is the highest) */
    static String payload(ThresholdCrossed e, List<String> thresholds) {
        Map<String, Object> data = new LinkedHashMap<>();
        data.put("id", e.getId());
        data.put("customer", e.getCustomer());
        data.put("limit_id", e.getLimitId());
        data.put("label", e.getLabel());
        data.put("kind", e.getKind());
        data.put("threshold", e.getThreshold());
        data.put("thresholds", thresholds);
        // money as "20.00", a meter's units as quantities ("900")
        boolean money = io.capstream.policy.limit.Measure.of(e.getMeasure()).isMoney() || MessageText.runaway(e);
        data.put("used", money ? Decimals.formatMoney(e.getUsed()) : Decimals.formatQuantity(e.getUsed()));
        data.put("limit", money ? Decimals.formatMoney(e.getLimit()) : Decimals.formatQuantity(e.getLimit()));
        data.put("measure", e.getMeasure());
        data.put("period_start", e.getPeriodStart().toString());
        data.put("resets_at", e.getResetsAt());
        data.put("timezone", e.getTimezone());
        data.put("action", e.getAction());
        data.put("raise_cap_url", e.getRaiseCapUrl());
        data.put("upgrade_url", e.getUpgradeUrl());
        data.put("top_up_url", e.getTopUpUrl());
        data.put("crossed_at", e.getCrossedAt().toString());
        data.put("message", MessageText.text(e, thresholds));
        Map<String, Object> body = new LinkedHashMap<>();
        body.put("type", MessageText.runaway(e) ? RUNAWAY_TYPE : TYPE);
        body.put("timestamp", e.getCrossedAt().toString());
        body.put("data", data);
        try {
            return Json.MAPPER.writeValueAsString(body);
        } catch (JsonProcessingException ex) {
            throw new IllegalStateException(ex);
        }
    }

    Outcome send(String url, String secret, ThresholdCrossed event, List<String> thresholds) {
        String body = payload(event, thresholds);
        long timestamp = clock.instant().getEpochSecond();
        String signature;
        try {
            signature = new Webhook(secret).sign(event.getId(), timestamp, body);
        } catch (Exception e) {
            return new Outcome.Refused("the customer's webhook secret cannot sign: " + e.getMessage(), Optional.empty());
        }
        String destination;
        try {
            destination = destinationProblem(url);
        } catch (IllegalArgumentException e) {
            return new Outcome.Refused("the webhook URL is not valid", Optional.empty());
        }
        if (destination != null && destination.isEmpty()) {
            return new Outcome.Retry("the webhook host does not resolve", Optional.empty(), Optional.empty());
        }
        if (destination != null) {
            return new Outcome.Refused("webhooks may not go there: " + destination, Optional.empty());
        }
        HttpRequest request;
        try {
            request = HttpRequest.newBuilder(URI.create(url)).timeout(timeout)
                    .header("Content-Type", "application/json")
                    .header("webhook-id", event.getId())
                    .header("webhook-timestamp", Long.toString(timestamp))
                    .header("webhook-signature", signature)
                    .POST(HttpRequest.BodyPublishers.ofString(body)).build();
        } catch (IllegalArgumentException e) {
            return new Outcome.Refused("the webhook URL is not valid", Optional.empty());
        }
        HttpResponse<Void> response;
        try {
            response = http.send(request, STATUS_ONLY);
        } catch (IOException e) {
            return new Outcome.Retry(e.getClass().getSimpleName() + (e.getMessage() == null ? "" : ": " + e.getMessage()), Optional.empty(), Optional.empty());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return new Outcome.Retry("interrupted", Optional.empty(), Optional.empty());
        }
        int status = response.statusCode();
        Optional<Integer> code = Optional.of(status);
        if (status / 100 == 2) {
            return new Outcome.Delivered(code);
        }
        if (status == 408 || status == 429 || status / 100 == 5) {
            return new Outcome.Retry("the receiver answered " + status, retryAfter(response.headers().firstValue("Retry-After")), code);
        }
        return new Outcome.Refused("the receiver answered " + status + "; 4xx other than 408 and 429 is not retried", code);
    }

    /**
     * The answer's status and headers, without its body: the body is not read (its subscription is cancelled, which closes the
     * connection), so {@code send} returns when the headers are in. With {@code BodyHandlers.discarding()} it returned only at
     * the body's end, which the request timeout does not bound: a receiver that answered 200 and then sent its body a byte a
     * second held a delivery thread for as long as it liked, and a few such receivers every customer's notifications.
     */
    static final HttpResponse.BodyHandler<Void> STATUS_ONLY = info -> new HttpResponse.BodySubscriber<>() {
        @Override
        public java.util.concurrent.CompletionStage<Void> getBody() {
            return java.util.concurrent.CompletableFuture.completedFuture(null);
        }

        @Override
        public void onSubscribe(java.util.concurrent.Flow.Subscription subscription) {
            subscription.cancel();
        }

        @Override
        public void onNext(List<java.nio.ByteBuffer> item) {
        }

        @Override
        public void onError(Throwable throwable) {
        }

        @Override
        public void onComplete() {
        }
    };

    /** {@code Retry-After} as seconds or an HTTP date. */
    Optional<Duration> retryAfter(Optional<String> header) {
        return header.flatMap(v -> {
            try {
                return Optional.of(Duration.ofSeconds(Long.parseLong(v.strip())));
            } catch (NumberFormatException e) {
                try {
                    return Optional.of(Duration.between(clock.instant(), ZonedDateTime.parse(v.strip(), DateTimeFormatter.RFC_1123_DATE_TIME).toInstant()))
                            .filter(d -> !d.isNegative());
                } catch (DateTimeParseException ex) {
                    return Optional.empty();
                }
            }
        });
    }
}

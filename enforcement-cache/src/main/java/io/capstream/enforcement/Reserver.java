package io.capstream.enforcement;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.ReservationId;
import io.capstream.policy.input.Bounds;
import io.capstream.runtime.Json;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Strict mode from the sidecar: reserves a request's estimate on its strict caps at the aggregator
 * instance that owns the customer, within a time bound.
 *
 * <ul>
 *   <li>The sidecar chooses each reservation's id ({@link ReservationId#mint}), so a reservation it gave
 *       up waiting for is released ({@code DELETE}) whether or not the aggregator made it: if the release
 *       arrives first, the aggregator refuses the reservation that follows; nothing holds the cap for the
 *       10-minute hold. A release that finds no instance answering (the owner killed, its partitions moving)
 *       is sent again until one does.</li>
 *   <li>One request per customer is in flight at a time; the reservations that arrive meanwhile go together
 *       in the next one (a batch, answered in order), so a burst of one customer's checks costs a few round
 *       trips, not one connection each.</li>
 *   <li>Answers name the owning instance ({@code Capstream-Owner}); later requests for the customer go
 *       there directly over the client's kept-alive connections, and back through {@code aggregator.url}
 *       (any instance; it forwards; several, comma-separated, are tried in turn) when the owner does not
 *       answer.</li>
 * </ul>
 */
final class Reserver {
    private static final Logger LOG = LoggerFactory.getLogger(Reserver.class);
    private static final int MAX_OWNERS = 10_000;
    private static final String OWNER = "Capstream-Owner";
    /** How long a release that finds no instance answering is tried again: the aggregator's hold. */
    static final Duration RELEASE_RETRY_FOR = Duration.ofMinutes(10);
    /** At most this many releases wait to be sent again (a long outage at a high rate): beyond, they expire with their hold. */
    static final int MAX_RELEASES_RETRYING = 10_000;
    private final java.util.concurrent.atomic.AtomicInteger releasesRetrying = new java.util.concurrent.atomic.AtomicInteger();

    /** Reserved (with its id), refused (with the aggregator's sentence), or not answered in time. */
    sealed interface Outcome {
        record Reserved(String id) implements Outcome {}

        record Refused(String message) implements Outcome {}

        record Unavailable(String why) implements Outcome {}
    }

    /** One reservation asked for: the sidecar's id for it and its caller's answer. */
    private record Pending(CheckRequest request, String id, CompletableFuture<Outcome> answer) {}

    /** One customer's reservations waiting for the request in flight to come back. */
    private static final class Queue {
        final ArrayDeque<Pending> waiting = new ArrayDeque<>();
        boolean inFlight;
    }

    /** {@code aggregator.url}: one or more instances, any of which forwards to the owner; the first that answers is used. */
    private final List<String> entries;
    private final java.util.concurrent.atomic.AtomicInteger entry = new java.util.concurrent.atomic.AtomicInteger();
    private final String key;
    private final Duration timeout;
    /** A batch that stalls holds back only its own customer, and only this long. */
    private final Duration requestTimeout;
    private final HttpClient http;
    private final Map<String, Queue> queues = new HashMap<>(); // guarded by itself
    private final Map<String, String> owners = new LinkedHashMap<>(256, 0.75f, true) { // guarded by itself
        @Override
        protected boolean removeEldestEntry(Map.Entry<String, String> eldest) {
            return size() > MAX_OWNERS;
        }
    };

    Reserver(String aggregatorUrl, String key, Duration timeout) {
        this.entries = java.util.Arrays.stream(aggregatorUrl.split(",")).map(String::strip).filter(u -> !u.isEmpty())
                .map(u -> u.replaceAll("/$", "")).toList();
        this.key = key;
        this.timeout = timeout;
        this.requestTimeout = timeout.multipliedBy(10).compareTo(Duration.ofSeconds(1)) < 0 ? Duration.ofSeconds(1) : timeout.multipliedBy(10);
        this.http = HttpClient.newBuilder().connectTimeout(requestTimeout).version(HttpClient.Version.HTTP_1_1).build();
    }

    /** Asks for the reservation without waiting: completes with the outcome (never exceptionally) within the timeout. */
    CompletableFuture<Outcome> reserve(CheckRequest request) {
        Pending pending = new Pending(request, ReservationId.mint(request.customer()), new CompletableFuture<>());
        pending.answer().completeOnTimeout(new Outcome.Unavailable("the aggregator did not answer in " + timeout.toMillis() + " ms"),
                timeout.toMillis(), TimeUnit.MILLISECONDS);
        // a reservation given up on is released, whether or not the aggregator made it (or even got it)
        pending.answer().thenAccept(o -> {
            if (o instanceof Outcome.Unavailable) {
                release(request.customer(), pending.id());
            }
        });
        List<Pending> batch = null;
        synchronized (queues) {
            Queue queue = queues.computeIfAbsent(request.customer(), c -> new Queue());
            queue.waiting.add(pending);
            if (!queue.inFlight) {
                queue.inFlight = true;
                batch = next(request.customer(), queue);
            }
        }
        if (batch != null) {
            send(request.customer(), batch);
        }
        return pending.answer();
    }

    /** The reservations to send next (those whose caller still waits); the queue is dropped when none are left. Under the lock. */
    private List<Pending> next(String customer, Queue queue) {
        List<Pending> batch = new ArrayList<>();
        while (!queue.waiting.isEmpty() && batch.size() < Bounds.RESERVATIONS_PER_BATCH) {
            Pending p = queue.waiting.poll();
            if (!p.answer().isDone()) {
                batch.add(p);
            }
        }
        if (batch.isEmpty()) {
            queue.inFlight = false;
            queues.remove(customer);
        }
        return batch;
    }

    private void send(String customer, List<Pending> batch) {
        send(customer, batch, 0);
    }

    /** Sends a batch; the next one (what arrived meanwhile) when its answer is in. A refused connection tries the next entry instance. */
    private void send(String customer, List<Pending> batch, int attempt) {
        while (!batch.isEmpty()) {
            String target = owner(customer);
            HttpRequest post;
            try {
                post = HttpRequest.newBuilder(URI.create(target + "/v1/reservations")).timeout(requestTimeout)
                        .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                        .POST(HttpRequest.BodyPublishers.ofByteArray(Json.MAPPER.writeValueAsBytes(body(customer, batch)))).build();
            } catch (IOException e) {
                batch.forEach(p -> p.answer().complete(new Outcome.Unavailable("the reservation could not be written: " + e.getMessage())));
                synchronized (queues) {
                    batch = next(customer, queues.get(customer));
                }
                continue;
            }
            List<Pending> sent = batch;
            http.sendAsync(post, HttpResponse.BodyHandlers.ofByteArray()).whenComplete((response, failure) -> {
                if (failure != null && refused(failure) && attempt + 1 < entries.size()) {
                    forgetOwner(customer, target); // nothing reached it: the same batch goes to the next instance
                    send(customer, sent.stream().filter(p -> !p.answer().isDone()).toList(), attempt + 1);
                    return;
                }
                answer(customer, target, sent, response, failure);
                List<Pending> following;
                synchronized (queues) {
                    following = next(customer, queues.get(customer));
                }
                send(customer, following, 0);
            });
            return;
        }
    }

    private static boolean refused(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof java.net.ConnectException) {
                return true;
            }
        }
        return false;
    }

    private static Map<String, Object> body(String customer, List<Pending> batch) {
        List<Map<String, Object>> reservations = new ArrayList<>(batch.size());
        for (Pending p : batch) {
            CheckRequest r = p.request();
            Map<String, Object> one = new LinkedHashMap<>();
            one.put("reservation_id", p.id());
            one.put("customer", r.customer());
            one.put("user", r.user());
            one.put("api_key", r.apiKey());
            one.put("feature", r.feature());
            one.put("model", r.model());
            Map<String, Object> estimate = new LinkedHashMap<>();
            r.estimate().forEach((m, q) -> estimate.put(m, q.toPlainString()));
            r.estimatedCost().ifPresent(c -> estimate.put("cost", c.toPlainString()));
            one.put("estimate", estimate);
            reservations.add(one);
        }
        return Map.of("customer", customer, "reservations", reservations);
    }

    /** Completes each reservation of a batch from the aggregator's answer (in order, one result each). */
    private void answer(String customer, String target, List<Pending> batch, HttpResponse<byte[]> response, Throwable failure) {
        if (failure != null || response.statusCode() != 200) {
            forgetOwner(customer, target);
            String why = failure != null ? "the aggregator did not answer (" + failure.getClass().getSimpleName() + ")"
                    : "the aggregator answered " + response.statusCode();
            batch.forEach(p -> p.answer().complete(new Outcome.Unavailable(why)));
            return;
        }
        response.headers().firstValue(OWNER).ifPresent(owner -> rememberOwner(customer, owner));
        JsonNode results;
        try {
            results = Json.MAPPER.readTree(response.body()).path("results");
        } catch (IOException e) {
            results = Json.MAPPER.missingNode();
        }
        for (int i = 0; i < batch.size(); i++) {
            JsonNode result = results.path(i);
            Pending p = batch.get(i);
            if (!p.id().equals(result.path("reservation_id").asText())) {
                p.answer().complete(new Outcome.Unavailable("the aggregator's answer could not be read"));
                continue;
            }
            p.answer().complete(switch (result.path("status").asText()) {
                case "reserved" -> new Outcome.Reserved(p.id());
                case "not_strict" -> new Outcome.Reserved("");
                case "refused" -> new Outcome.Refused(result.path("message").asText());
                default -> new Outcome.Unavailable("the reservation was released before it was made");
            });
        }
    }

    /**
     * Releases a reservation given up on. The owner may be gone (killed, its partitions moving): a failed or 5xx release is
     * sent again, through the entry instances, every second (then up to every 5 s) until one answers, for as long as the hold
     * would last (at most {@link #MAX_RELEASES_RETRYING} at a time); the instance that takes the customer over has the
     * reservation from its changelog and releases it then.
     */
    private void release(String customer, String id) {
        release(customer, id, System.nanoTime() + RELEASE_RETRY_FOR.toNanos(), 1_000);
    }

    private void release(String customer, String id, long until, long retryMs) {
        String target = owner(customer);
        HttpRequest delete = HttpRequest.newBuilder(URI.create(target + "/v1/reservations/" + id)).timeout(Duration.ofSeconds(5))
                .header("Authorization", "Bearer " + key).DELETE().build();
        http.sendAsync(delete, HttpResponse.BodyHandlers.discarding()).whenComplete((response, failure) -> {
            if (failure == null && response.statusCode() < 500) {
                return;
            }
            forgetOwner(customer, target);
            boolean expired = System.nanoTime() - until >= 0;
            if (expired || releasesRetrying.incrementAndGet() > MAX_RELEASES_RETRYING) {
                if (!expired) {
                    releasesRetrying.decrementAndGet();
                }
                LOG.warn("a reservation given up on ({}) could not be released; it stops holding when it expires", id);
                return;
            }
            CompletableFuture.runAsync(() -> {
                releasesRetrying.decrementAndGet();
                release(customer, id, until, Math.min(5_000, retryMs * 2));
            }, CompletableFuture.delayedExecutor(retryMs, TimeUnit.MILLISECONDS));
        });
    }

    private String owner(String customer) {
        synchronized (owners) {
            String owner = owners.get(customer);
            return owner != null ? owner : entries.get(Math.floorMod(entry.get(), entries.size()));
        }
    }

    private void rememberOwner(String customer, String hostAndPort) {
        String owner = URI.create(entries.getFirst()).getScheme() + "://" + hostAndPort;
        synchronized (owners) {
            owners.put(customer, owner);
        }
    }

    /** {@code target} did not answer: forget it as the customer's owner, and try the next entry instance if it was one. */
    private void forgetOwner(String customer, String target) {
        synchronized (owners) {
            owners.remove(customer, target);
        }
        int current = entry.get();
        if (target.equals(entries.get(Math.floorMod(current, entries.size())))) {
            entry.compareAndSet(current, current + 1);
        }
    }

    static Optional<Reserver> of(String aggregatorUrl, String key, Duration timeout) {
        return aggregatorUrl == null || aggregatorUrl.isBlank() ? Optional.empty() : Optional.of(new Reserver(aggregatorUrl, key, timeout));
    }
}

package io.capstream.aggregator.query;

import io.capstream.aggregator.strict.ReservationBook;
import io.capstream.aggregator.strict.ReservationLog;
import io.capstream.schemas.ReservationHold;
import io.capstream.schemas.ReservationRecord;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import io.capstream.schemas.topics.UsageKey;
import io.capstream.policy.decision.Account;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.input.Bounds;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.decision.Enforcement;
import io.capstream.policy.input.InvalidInputException;
import io.capstream.policy.input.Problem;
import io.capstream.policy.decision.ReservationId;
import io.capstream.policy.decision.Wording;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.schemas.LimitUsage;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.HashMap;
import java.util.function.Function;

/**
 * Strict-mode reservations over HTTP, at the instance that owns the customer ({@link OwnerRouter}):
 * {@code POST /v1/reservations} (the check request's body) holds the request's estimate on every
 * strict cap it matches, or answers 402 naming the cap that cannot cover it;
 * {@code DELETE /v1/reservations/{id}} releases one. The id carries the customer so any instance
 * can route it; a usage event with the id settles it.
 *
 * <p>Sidecars choose the ids ({@code reservation_id}), so asking twice is one reservation and a
 * reservation given up on can be released even when its answer never came; and they send the
 * concurrent reservations of one customer as one batch ({@code {"customer", "reservations": [...]}},
 * answered in order with one result each). Every answer names the owner ({@link #OWNER}).
 */
public final class ReservationApi {
    private static final Logger LOG = LoggerFactory.getLogger(ReservationApi.class);
    private static final Duration WRITE_TIMEOUT = Duration.ofSeconds(2);
    /** The answer's header naming the instance that owns the customer ({@code host:port}): callers go there directly next time. */
    public static final String OWNER = "Capstream-Owner";
    private final OwnerRouter router;
    private final ReservationBook book;
    private final ReservationLog log;
    private final ApiKeys keys;
    private final Clock clock;

    public ReservationApi(UsageQueryApi usage, ReservationBook book, ReservationLog log, ApiKeys keys, Clock clock) {
        this.router = usage.router();
        this.book = book;
        this.log = log;
        this.keys = keys;
        this.clock = clock;
    }

    public void routes(JavalinConfig config) {
        config.routes.post("/v1/reservations", this::reserve);
        config.routes.delete("/v1/reservations/{id}", this::release);
    }

    /** One reservation asked for: the request and the id its caller chose (or this API chose for it). */
    private record Asked(CheckRequest request, String id) {}

    /** What became of one reservation. */
    private sealed interface Outcome {
        String id();

        record Reserved(String id, List<Enforcement.StrictHold> holds, Instant expiresAt) implements Outcome {}

        record NotStrict(String id) implements Outcome {}

        record Spent(String id) implements Outcome {}

        record Refused(String id, Enforcement.StrictHold cap, BigDecimal available) implements Outcome {
            String message() {
                String left = Wording.amount(available, cap.info().measure());
                return "Your " + cap.info().label() + " of " + Wording.amount(cap.limit(), cap.info().measure()) + " has " + left
                        + " left, with requests in flight counted; this request needs " + Wording.amount(cap.amount(), cap.info().measure()) + "."
                        + cap.info().raiseCapUrl().map(u -> " Raise the cap: " + u).orElse("");
            }

            Map<String, Object> limit() {
                return Map.of("id", cap.limitId(), "label", cap.info().label(), "limit", cap.info().limit(),
                        "available", available.toPlainString(), "resets_at", cap.info().resetsAt().toString());
            }
        }
    }

    private void reserve(Context ctx) {
        authorize(ctx);
        JsonNode body = HttpServer.jsonBody(ctx);
        boolean batch = body.has("reservations");
        List<Asked> asked = batch ? readBatch(body) : List.of(read(body, ""));
        String customer = asked.getFirst().request().customer();
        router.localOrForward(ctx, customer).ifPresent(partition -> {
            ctx.header(OWNER, router.self());
            Instant now = clock.instant();
            // one customer per request: resolved under the policy once, each limit's running total read once
            Account account = Account.of(partition.customer(customer), partition.policy());
            Map<String, BigDecimal> used = new HashMap<>();
            Function<String, BigDecimal> usedOf = key -> used.computeIfAbsent(key, k -> {
                LimitUsage r = partition.limits().get(k);
                return r == null ? BigDecimal.ZERO : r.getUsed();
            });
            List<Problem> problems = new ArrayList<>();
            for (int i = 0; i < asked.size(); i++) {
                problems.addAll(prefixed(asked.get(i).request().problems(partition.policy()), batch ? "reservations[" + i + "]." : ""));
            }
            if (!problems.isEmpty()) {
                throw new InvalidInputException(problems); // before any is reserved: a batch is answered whole
            }
            List<Outcome> outcomes = new ArrayList<>(asked.size());
            for (Asked a : asked) {
                outcomes.add(reserve(partition.number(), account, a, usedOf, now));
            }
            List<String> reserved = outcomes.stream().filter(o -> o instanceof Outcome.Reserved).map(Outcome::id).toList();
            if (!durable(customer, reserved, false)) {
                reserved.forEach(id -> book.release(customer, partition.number(), id));
                throw ApiException.unavailable("usage_state_unavailable", "the reservation could not be stored; try again", 1);
            }
            if (batch) {
                HttpServer.json(ctx, 200, Map.of("results", outcomes.stream().map(ReservationApi::result).toList()));
            } else {
                answer(ctx, outcomes.getFirst());
            }
        });
    }

    private Outcome reserve(int partition, Account account, Asked asked, Function<String, BigDecimal> used, Instant now) {
        Customer customer = account.customer();
        List<Enforcement.StrictHold> strict = Enforcement.strictHolds(asked.request(), account, now);
        if (strict.isEmpty()) {
            return new Outcome.NotStrict(asked.id());
        }
        List<ReservationBook.Hold> holds = new ArrayList<>();
        Map<String, Enforcement.StrictHold> byKey = new LinkedHashMap<>();
        for (Enforcement.StrictHold h : strict) {
            String key = UsageKey.of(customer.id(), h.limitId(), h.periodStart());
            holds.add(new ReservationBook.Hold(key, h.amount(), h.limit()));
            byKey.put(key, h);
        }
        ReservationBook.Result result = book.reserve(asked.id(), customer.id(), partition, holds, used);
        if (result.id().isPresent()) {
            return new Outcome.Reserved(asked.id(), strict, book.expiresAt(customer.id(), asked.id()));
        }
        if (result.spent()) {
            return new Outcome.Spent(asked.id());
        }
        return new Outcome.Refused(asked.id(), byKey.get(result.refusedBy().orElseThrow().limitKey()),
                result.availableThere().orElse(BigDecimal.ZERO));
    }

    /** The answer to a single reservation (the check body): 201, 200 when no strict cap applies, 402, or 409 for a spent id. */
    private static void answer(Context ctx, Outcome outcome) {
        switch (outcome) {
            case Outcome.Reserved r -> HttpServer.json(ctx, 201, Map.of("reservation_id", r.id(), "expires_at", r.expiresAt().toString(),
                    "holds", r.holds().stream().map(h -> Map.of("limit_id", h.limitId(), "amount", Decimals.formatMoney(h.amount()))).toList()));
            case Outcome.NotStrict n -> HttpServer.json(ctx, 200, Map.of("reservation_id", "", "holds", List.of(),
                    "message", "no strict cap applies to this request"));
            case Outcome.Spent s -> throw spent(s.id());
            case Outcome.Refused r -> throw new ApiException(402, "spend_cap_reached", r.message(), Map.of("limit", r.limit()), Map.of());
        }
    }

    /** One result of a batch, in the batch's order. */
    private static Map<String, Object> result(Outcome outcome) {
        return switch (outcome) {
            case Outcome.Reserved r -> Map.of("reservation_id", r.id(), "status", "reserved", "expires_at", r.expiresAt().toString());
            case Outcome.NotStrict n -> Map.of("reservation_id", n.id(), "status", "not_strict");
            case Outcome.Spent s -> Map.of("reservation_id", s.id(), "status", "released", "message", spent(s.id()).getMessage());
            case Outcome.Refused r -> Map.of("reservation_id", r.id(), "status", "refused", "message", r.message(), "limit", r.limit());
        };
    }

    private static ApiException spent(String id) {
        return new ApiException(409, "reservation_released", "reservation '" + id + "' was already released or settled; reserve with a new id");
    }

    /** A batch: {@code {"customer": c, "reservations": [check body + "reservation_id", ...]}}, every one for that customer. */
    private static List<Asked> readBatch(JsonNode body) {
        JsonNode items = body.get("reservations");
        String customer = body.path("customer").asText("");
        if (!items.isArray() || items.isEmpty() || items.size() > Bounds.RESERVATIONS_PER_BATCH) {
            throw new InvalidInputException(List.of(new Problem("reservations", "an array of 1 to " + Bounds.RESERVATIONS_PER_BATCH + " reservations")));
        }
        List<Asked> asked = new ArrayList<>(items.size());
        for (JsonNode item : items) {
            String path = "reservations[" + asked.size() + "].";
            Asked a = read(item, path);
            if (!a.request().customer().equals(customer)) {
                throw new InvalidInputException(List.of(new Problem(path + "customer", "every reservation of a batch is for the batch's customer '"
                        + customer + "'")));
            }
            asked.add(a);
        }
        return asked;
    }

    /** A check body with an optional {@code reservation_id} (the caller's; one is chosen when it has none). */
    private static Asked read(JsonNode node, String path) {
        if (!node.isObject()) {
            throw new InvalidInputException(List.of(new Problem(path.isEmpty() ? "request" : path.substring(0, path.length() - 1), "an object")));
        }
        ObjectNode request = ((ObjectNode) node).deepCopy();
        JsonNode id = request.remove("reservation_id");
        CheckRequest check;
        try {
            check = CheckRequest.read(request, Optional.empty()); // the policy is the owner's, checked there
        } catch (InvalidInputException e) {
            throw new InvalidInputException(prefixed(e.problems(), path));
        }
        if (id == null || id.isNull()) {
            return new Asked(check, ReservationId.mint(check.customer()));
        }
        if (!id.isTextual() || !ReservationId.isFor(id.asText(), check.customer())) {
            throw new InvalidInputException(List.of(new Problem(path + "reservation_id",
                    "res_<the customer id in URL-safe base64, no padding>_<8 to 64 letters or digits>, as the sidecar makes them")));
        }
        return new Asked(check, id.asText());
    }

    private static List<Problem> prefixed(List<Problem> problems, String path) {
        return path.isEmpty() ? problems : problems.stream().map(p -> new Problem(path + p.field(), p.message())).toList();
    }

    private void release(Context ctx) {
        authorize(ctx);
        String id = ctx.pathParam("id");
        String customer = customerOf(id);
        router.localOrForward(ctx, customer).ifPresent(partition -> {
            ctx.header(OWNER, router.self());
            boolean wasOpen = book.release(customer, partition.number(), id);
            if (!durable(customer, List.of(id), true)) {
                // released here; a partition that moves before the release is stored brings it back until it expires
                LOG.warn("the release of reservation {} was not stored", id);
            }
            if (wasOpen) {
                ctx.status(204);
            } else {
                throw new ApiException(404, "reservation_not_found", "no open reservation '" + id + "' (settled, released or expired)");
            }
        });
    }

    /**
     * Writes the customer's reservations (as they are open now, or released) to the reservations topic and waits
     * until they are durable: the task that owns the customer keeps them, so they survive a move of its partition.
     */
    private boolean durable(String customer, List<String> ids, boolean released) {
        if (ids.isEmpty()) {
            return true;
        }
        List<ReservationRecord> records = new ArrayList<>(ids.size());
        for (String id : ids) {
            if (released) {
                records.add(new ReservationRecord(id, customer, List.of(), clock.instant(), true));
            } else {
                book.reservation(customer, id).ifPresent(o -> records.add(new ReservationRecord(id, customer,
                        o.holds().entrySet().stream().map(h -> new ReservationHold(h.getKey(), Decimals.money(h.getValue()))).toList(),
                        o.expiresAt(), false)));
            }
        }
        try {
            log.write(records).get(WRITE_TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
            return true;
        } catch (ExecutionException | TimeoutException e) {
            LOG.warn("reservations of {} were not stored: {}", customer, e.toString());
            return false;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private void authorize(Context ctx) {
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.isAdmin() && !principal.scopes().contains("check")) {
            throw ApiException.forbidden("reservations need an API key with the 'check' scope");
        }
    }

    static String customerOf(String reservationId) {
        return ReservationId.customerOf(reservationId).orElseThrow(() ->
                new ApiException(404, "reservation_not_found", "'" + reservationId + "' is not a reservation id"));
    }
}

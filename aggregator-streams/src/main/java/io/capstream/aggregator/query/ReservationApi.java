package io.capstream.aggregator.query;

import io.capstream.aggregator.strict.ReservationBook;
import io.capstream.schemas.topics.UsageKey;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.decision.Enforcement;
import io.capstream.policy.input.InvalidInputException;
import io.capstream.policy.input.Problem;
import io.capstream.policy.decision.Wording;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.schemas.LimitUsage;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

/**
 * Strict-mode reservations over HTTP, at the instance that owns the customer ({@link OwnerRouter}):
 * {@code POST /v1/reservations} (the check request's body) holds the request's estimate on every
 * strict cap it matches, or answers 402 naming the cap that cannot cover it;
 * {@code DELETE /v1/reservations/{id}} releases one. The id carries the customer so any instance
 * can route it; a usage event with the id settles it.
 */
public final class ReservationApi {
    private final OwnerRouter router;
    private final ReservationBook book;
    private final ApiKeys keys;
    private final Clock clock;

    public ReservationApi(UsageQueryApi usage, ReservationBook book, ApiKeys keys, Clock clock) {
        this.router = usage.router();
        this.book = book;
        this.keys = keys;
        this.clock = clock;
    }

    public void routes(JavalinConfig config) {
        config.routes.post("/v1/reservations", this::reserve);
        config.routes.delete("/v1/reservations/{id}", this::release);
    }

    private void reserve(Context ctx) {
        authorize(ctx);
        CheckRequest request = CheckRequest.read(HttpServer.jsonBody(ctx), Optional.empty()); // the policy is the owner's, checked there
        router.localOrForward(ctx, request.customer()).ifPresent(partition -> {
            List<Problem> problems = request.problems(partition.policy());
            if (!problems.isEmpty()) {
                throw new InvalidInputException(problems);
            }
            Instant now = clock.instant();
            Customer customer = partition.customer(request.customer());
            List<Enforcement.StrictHold> strict = Enforcement.strictHolds(request, customer, partition.policy(), now);
            if (strict.isEmpty()) {
                HttpServer.json(ctx, 200, Map.of("reservation_id", "", "holds", List.of(), "message", "no strict cap applies to this request"));
                return;
            }
            List<ReservationBook.Hold> holds = new ArrayList<>();
            Map<String, Enforcement.StrictHold> byKey = new LinkedHashMap<>();
            for (Enforcement.StrictHold h : strict) {
                String key = UsageKey.of(customer.id(), h.limitId(), h.periodStart());
                holds.add(new ReservationBook.Hold(key, h.amount(), h.limit()));
                byKey.put(key, h);
            }
            String id = "res_" + Base64.getUrlEncoder().withoutPadding().encodeToString(customer.id().getBytes(StandardCharsets.UTF_8))
                    + "_" + UUID.randomUUID().toString().replace("-", "").substring(0, 16);
            ReservationBook.Result result = book.reserve(id, customer.id(), holds, key -> {
                LimitUsage r = partition.limits().get(key);
                return r == null ? BigDecimal.ZERO : r.getUsed();
            });
            if (result.id().isPresent()) {
                HttpServer.json(ctx, 201, Map.of("reservation_id", id, "expires_at", book.expiresAt(customer.id(), id).toString(),
                        "holds", strict.stream().map(h -> Map.of("limit_id", h.limitId(), "amount", Decimals.formatMoney(h.amount()))).toList()));
                return;
            }
            Enforcement.StrictHold refused = byKey.get(result.refusedBy().orElseThrow().limitKey());
            String available = Wording.amount(result.availableThere().orElse(BigDecimal.ZERO), refused.info().measure());
            throw new ApiException(402, "spend_cap_reached", "Your " + refused.info().label() + " of "
                    + Wording.amount(refused.limit(), refused.info().measure()) + " has " + available + " left, with requests in flight counted;"
                    + " this request needs " + Wording.amount(refused.amount(), refused.info().measure()) + "."
                    + refused.info().raiseCapUrl().map(u -> " Raise the cap: " + u).orElse(""),
                    Map.of("limit", Map.of("id", refused.limitId(), "label", refused.info().label(), "limit", refused.info().limit(),
                            "available", result.availableThere().orElse(BigDecimal.ZERO).toPlainString(),
                            "resets_at", refused.info().resetsAt().toString())), Map.of());
        });
    }

    private void release(Context ctx) {
        authorize(ctx);
        String id = ctx.pathParam("id");
        String customer = customerOf(id);
        router.localOrForward(ctx, customer).ifPresent(partition -> {
            if (book.release(customer, id)) {
                ctx.status(204);
            } else {
                throw new ApiException(404, "reservation_not_found", "no open reservation '" + id + "' (settled, released or expired)");
            }
        });
    }

    private void authorize(Context ctx) {
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.isAdmin() && !principal.scopes().contains("check")) {
            throw ApiException.forbidden("reservations need an API key with the 'check' scope");
        }
    }

    static String customerOf(String reservationId) {
        String[] parts = reservationId.split("_");
        if (parts.length != 3 || !parts[0].equals("res")) {
            throw new ApiException(404, "reservation_not_found", "'" + reservationId + "' is not a reservation id");
        }
        try {
            return new String(Base64.getUrlDecoder().decode(parts[1]), StandardCharsets.UTF_8);
        } catch (IllegalArgumentException e) {
            throw new ApiException(404, "reservation_not_found", "'" + reservationId + "' is not a reservation id");
        }
    }
}

package io.capstream.ingest;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.CustomerRateLimiter;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.schemas.UsageEvent;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Timer;
import java.time.Clock;
import java.time.Instant;
import java.util.Map;
import java.util.Optional;
import java.util.TreeSet;

/** {@code POST /v1/events}: native JSON or CloudEvents, one event or a batch, all or nothing. */
final class IngestApi {
    static final int MAX_BODY_BYTES = 1024 * 1024;
    static final int MAX_EVENTS = 1000;

    private final ApiKeys keys;
    private final EventParser parser;
    private final EventPublisher publisher;
    private final Clock clock;
    private final Counter accepted;
    private final Counter rejected;
    private final Timer publishTime;
    private final CustomerRateLimiter events;
    private final CustomerRateLimiter amendments;

    IngestApi(ApiKeys keys, EventParser parser, EventPublisher publisher, Clock clock, MeterRegistry metrics, CustomerRateLimiter events,
              CustomerRateLimiter amendments) {
        this.events = events;
        this.amendments = amendments;
        this.keys = keys;
        this.parser = parser;
        this.publisher = publisher;
        this.clock = clock;
        this.accepted = Counter.builder("capstream.ingest.events.accepted").description("Events stored in usage-events").register(metrics);
        this.rejected = Counter.builder("capstream.ingest.events.rejected").description("Events refused as invalid").register(metrics);
        this.publishTime = Timer.builder("capstream.ingest.publish").description("Time until the broker acknowledged a request's events")
                .publishPercentiles(0.5, 0.99).register(metrics);
    }

    void routes(JavalinConfig config) {
        // Javalin enforces the same bound on bodies without a Content-Length; our own check answers first otherwise.
        config.http.maxRequestSize = MAX_BODY_BYTES;
        config.routes.post("/v1/events", this::postEvents);
        config.routes.post("/v1/events/{id}/void", ctx -> amend(ctx, VOID));
        config.routes.post("/v1/events/{id}/replace", ctx -> amend(ctx, REPLACE));
    }

    static final String VOID = "void";
    static final String REPLACE = "replace";

    /**
     * {@code POST /v1/events/{id}/void} ({@code {"customer", "source", "reason"}}) and {@code .../replace} (the event as
     * {@code POST /v1/events} takes it, its id the path's, and an optional {@code reason}): stored in usage-events like an event,
     * and applied by the aggregator to the event (customer, source, id) booked before, exactly once (docs/api.md).
     */
    private void amend(Context ctx, String kind) {
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.canIngest()) {
            throw ApiException.forbidden("this API key has no 'ingest' scope");
        }
        String id = ctx.pathParam("id");
        if (id.isBlank() || id.length() > EventParser.MAX_TEXT) {
            throw invalid("id", "the event id in the path is 1 to " + EventParser.MAX_TEXT + " characters");
        }
        if (ctx.contentLength() > MAX_BODY_BYTES) {
            throw tooLarge("the body is " + ctx.contentLength() + " bytes; at most " + MAX_BODY_BYTES + " are accepted");
        }
        byte[] bytes = ctx.bodyAsBytes();
        // a key of one customer takes the amendment from that customer's bucket before it is parsed, valid or not (as events)
        Optional<String> own = principal.onlyIngestCustomer();
        if (own.isPresent()) {
            amendments.takeOrRefuse(own.get(), AMENDMENT_RATE_LIMITED, amendmentsRate(), NOTHING_STORED);
        }
        JsonNode body = readJson(bytes);
        if (!body.isObject()) {
            throw new ApiException(400, "invalid_json", "the body must be a JSON object");
        }
        Instant receivedAt = clock.instant();
        UsageEvent amendment;
        if (VOID.equals(kind)) {
            EventParser.Result parsed = parser.parseVoid(id, body, receivedAt);
            amendment = single(parsed);
        } else {
            if (body.hasNonNull("id") && !id.equals(body.get("id").asText())) {
                throw invalid("id", "the replacement keeps the id of the event it replaces ('" + id + "'); leave it out of the body");
            }
            com.fasterxml.jackson.databind.node.ObjectNode event = ((com.fasterxml.jackson.databind.node.ObjectNode) body).deepCopy();
            event.put("id", id);
            amendment = UsageEvent.newBuilder(single(parser.parse(event, EventParser.Form.NATIVE, receivedAt))).setAmendment(REPLACE).build();
        }
        if (!principal.canIngestFor(amendment.getCustomer())) {
            throw ApiException.forbidden("this API key may not report usage for customer '" + amendment.getCustomer() + "'; nothing was stored");
        }
        if (own.isEmpty()) {
            amendments.takeOrRefuse(amendment.getCustomer(), AMENDMENT_RATE_LIMITED, amendmentsRate(), NOTHING_STORED);
        }
        publishTime.record(() -> publisher.publish(java.util.List.of(amendment), receivedAt));
        accepted.increment();
        HttpServer.json(ctx, 202, Map.of("accepted", 1, "amendment", kind, "id", id));
    }

    private UsageEvent single(EventParser.Result result) {
        if (!result.errors().isEmpty()) {
            rejected.increment();
            throw invalidEvents(result.errors());
        }
        return result.events().get(0);
    }

    private static ApiException invalid(String field, String message) {
        return invalidEvents(java.util.List.of(new FieldError(0, field, message)));
    }

    private static ApiException invalidEvents(java.util.List<FieldError> errors) {
        return ApiException.problems(400, "invalid_events", "the request", errors, e -> e, NOTHING_STORED);
    }

    private void postEvents(Context ctx) {
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.canIngest()) {
            throw ApiException.forbidden("this API key has no 'ingest' scope");
        }
        EventParser.Form form = form(ctx.contentType());
        if (ctx.contentLength() > MAX_BODY_BYTES) {
            throw tooLarge("the body is " + ctx.contentLength() + " bytes; at most " + MAX_BODY_BYTES + " are accepted");
        }
        // A key of one customer is that customer's to count before anything is parsed: a request is parsed only while the
        // customer's bucket holds a token, and then takes all its events, valid or not (a body that is not JSON: a full
        // batch's worth), into debt if need be; in debt, the requests are refused unparsed. So whatever such a key sends,
        // ingest parses at most the rate's worth of events. (The bytes are received first: a client still sending when the
        // answer comes would see the connection reset, not the 429.)
        byte[] bytes = ctx.bodyAsBytes();
        Optional<String> own = principal.onlyIngestCustomer();
        if (own.isPresent()) {
            events.refuseIfEmpty(own.get(), EVENTS_RATE_LIMITED, eventsRate(), NOTHING_STORED);
        }
        JsonNode body;
        try {
            body = readJson(bytes);
        } catch (ApiException notJson) {
            own.ifPresent(customer -> events.charge(customer, MAX_EVENTS)); // a body that does not parse counts as a full batch
            throw notJson;
        }
        own.ifPresent(customer -> events.charge(customer, body.isArray() ? Math.max(1, body.size()) : 1));
        if (!(body.isObject() || body.isArray())) {
            throw new ApiException(400, "invalid_json", "the body must be a JSON object or array of events");
        }
        if (body.isArray() && body.size() > MAX_EVENTS) {
            throw tooLarge("the batch has " + body.size() + " events; at most " + MAX_EVENTS + " are accepted in one request");
        }
        if (body.isArray() && body.isEmpty()) {
            throw new ApiException(400, "invalid_events", "the batch is empty");
        }
        Instant receivedAt = clock.instant();
        EventParser.Result result = parser.parse(body, form, receivedAt);
        if (!result.errors().isEmpty()) {
            rejected.increment(new TreeSet<>(result.errors().stream().map(FieldError::index).toList()).size());
            throw invalidEvents(result.errors());
        }
        for (UsageEvent event : result.events()) {
            if (!principal.canIngestFor(event.getCustomer())) {
                throw ApiException.forbidden("this API key may not report usage for customer '" + event.getCustomer() + "'; nothing was stored");
            }
        }
        if (own.isEmpty()) {
            events.takeOrRefuse(result.events().stream().map(UsageEvent::getCustomer).toList(), EVENTS_RATE_LIMITED, eventsRate(), NOTHING_STORED);
        }
        publishTime.record(() -> publisher.publish(result.events(), receivedAt));
        accepted.increment(result.events().size());
        HttpServer.json(ctx, 202, Map.of("accepted", result.events().size()));
    }

    private static final String EVENTS_RATE_LIMITED = "events_rate_limited";
    private static final String NOTHING_STORED = "; nothing was stored";

    private static final String AMENDMENT_RATE_LIMITED = "amendment_rate_limited";

    private String eventsRate() {
        return "send at most " + events.perSecond() + " events a second to this instance";
    }

    private String amendmentsRate() {
        return "send at most " + amendments.perSecond() + " voids and replacements a second";
    }

    private static EventParser.Form form(String contentType) {
        String type = contentType == null ? "" : contentType.split(";", -1)[0].strip().toLowerCase(java.util.Locale.ROOT);
        return switch (type) {
            case "application/json" -> EventParser.Form.NATIVE;
            case "application/cloudevents+json", "application/cloudevents-batch+json" -> EventParser.Form.CLOUDEVENT;
            default -> throw new ApiException(415, "unsupported_media_type", "Content-Type '" + contentType
                    + "' is not accepted; use application/json, application/cloudevents+json or application/cloudevents-batch+json");
        };
    }

    private static JsonNode readJson(byte[] bytes) {
        if (bytes.length > MAX_BODY_BYTES) {
            throw tooLarge("the body is larger than " + MAX_BODY_BYTES + " bytes");
        }
        return HttpServer.readJson(bytes);
    }

    private static ApiException tooLarge(String message) {
        return new ApiException(413, "payload_too_large", message + "; nothing was stored");
    }

}

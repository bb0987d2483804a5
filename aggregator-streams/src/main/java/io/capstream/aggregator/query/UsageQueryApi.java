package io.capstream.aggregator.query;

import io.capstream.schemas.topics.UsageKey;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.schemas.LimitUsage;
import java.util.HashMap;
import java.util.Map;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.time.Clock;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;

/**
 * {@code GET /v1/customers/{id}/usage}: the customer's usage report, read from the instance that
 * owns the customer's partition ({@link OwnerRouter}).
 */
public final class UsageQueryApi {
    private final OwnerRouter router;
    private final ApiKeys keys;
    private final Clock clock;

    public UsageQueryApi(Supplier<KafkaStreams> streams, Supplier<HostInfo> self, ApiKeys keys, Clock clock) {
        this.router = new OwnerRouter(streams, self);
        this.keys = keys;
        this.clock = clock;
    }

    public void routes(JavalinConfig config) {
        config.routes.get("/v1/customers/{id}/usage", this::usage);
        // a store opened while this instance owned the partition can move away before it is read (a rebalance):
        // ask again shortly, as while rebalancing, never a 500 (found by AggregatorFailoverIT's rolling restart)
        config.routes.exception(org.apache.kafka.streams.errors.InvalidStateStoreException.class, (e, ctx) ->
                HttpServer.writeError(ctx, OwnerRouter.rebalancing()));
    }

    OwnerRouter router() {
        return router;
    }

    private void usage(Context ctx) {
        String customer = ctx.pathParam("id");
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.canRead(customer)) {
            throw ApiException.forbidden("this API key may not read customer '" + customer + "'");
        }
        router.localOrForward(ctx, customer).ifPresent(partition -> {
            Map<String, LimitUsage> entries = new HashMap<>();
            try (KeyValueIterator<String, LimitUsage> it = partition.limits().prefixScan(UsageKey.customerPrefix(customer),
                    Serdes.String().serializer())) {
                while (it.hasNext()) {
                    KeyValue<String, LimitUsage> entry = it.next();
                    entries.put(entry.key, entry.value);
                }
            }
            HttpServer.json(ctx, 200, UsageReport.build(partition.customer(customer), partition.policy(), entries, clock.instant(), false));
        });
    }
}

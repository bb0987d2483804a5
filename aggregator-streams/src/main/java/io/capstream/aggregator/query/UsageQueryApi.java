package io.capstream.aggregator.query;

import io.capstream.aggregator.topology.UsageKeys;
import io.capstream.aggregator.topology.UsageTopology;
import io.capstream.runtime.ApiException;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.Principal;
import io.capstream.policy.Customer;
import io.capstream.policy.PolicyDocument;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.mapping.ParsedPolicy;
import io.capstream.schemas.topics.Topics;
import java.util.HashMap;
import java.util.Map;
import io.javalin.config.JavalinConfig;
import io.javalin.http.Context;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Clock;
import java.time.Duration;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.KeyValue;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.KeyValueIterator;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;

/**
 * {@code GET /v1/customers/{id}/usage}: the customer's usage this period, read from the instance that
 * owns the customer's partition. A request that lands elsewhere is forwarded there once; while the
 * group rebalances the answer is 503 with {@code Retry-After}.
 */
public final class UsageQueryApi {
    static final String FORWARDED = "X-Capstream-Forwarded";
    private static final int RETRY_AFTER_SECONDS = 1;

    private final Supplier<KafkaStreams> streams;
    private final Supplier<HostInfo> self;
    private final ApiKeys keys;
    private final Clock clock;
    private final ParsedPolicy policyCache = new ParsedPolicy();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    public UsageQueryApi(Supplier<KafkaStreams> streams, Supplier<HostInfo> self, ApiKeys keys, Clock clock) {
        this.streams = streams;
        this.self = self;
        this.keys = keys;
        this.clock = clock;
    }

    public void routes(JavalinConfig config) {
        config.routes.get("/v1/customers/{id}/usage", this::usage);
    }

    private void usage(Context ctx) {
        String customer = ctx.pathParam("id");
        Principal principal = keys.authenticate(ctx.header("Authorization")).orElseThrow(ApiException::unauthorized);
        if (!principal.canRead(customer)) {
            throw ApiException.forbidden("this API key may not read customer '" + customer + "'");
        }
        KafkaStreams kafkaStreams = streams.get();
        if (kafkaStreams == null || kafkaStreams.state() != KafkaStreams.State.RUNNING) {
            throw rebalancing();
        }
        KeyQueryMetadata owner = kafkaStreams.queryMetadataForKey(UsageTopology.LIMITS_STORE, customer, Serdes.String().serializer());
        if (owner == null || KeyQueryMetadata.NOT_AVAILABLE.equals(owner)) {
            throw rebalancing();
        }
        if (!owner.activeHost().equals(self.get())) {
            if (ctx.header(FORWARDED) != null) {
                throw rebalancing(); // the owner moved while the request was on its way; ask again shortly
            }
            forward(ctx, owner.activeHost(), customer);
            return;
        }
        try {
            ReadOnlyKeyValueStore<String, LimitUsage> limits = kafkaStreams.store(StoreQueryParameters
                    .fromNameAndType(UsageTopology.LIMITS_STORE, QueryableStoreTypes.<String, LimitUsage>keyValueStore())
                    .withPartition(owner.partition()));
            ReadOnlyKeyValueStore<String, CustomerRecord> customers = kafkaStreams.store(StoreQueryParameters
                    .fromNameAndType(UsageTopology.CUSTOMERS_STORE, QueryableStoreTypes.<String, CustomerRecord>keyValueStore())
                    .withPartition(owner.partition()));
            ReadOnlyKeyValueStore<String, PolicyRecord> policies = kafkaStreams.store(StoreQueryParameters
                    .fromNameAndType(UsageTopology.POLICY_STORE, QueryableStoreTypes.<String, PolicyRecord>keyValueStore()));
            PolicyRecord policyRecord = policies.get(Topics.POLICY_KEY);
            if (policyRecord == null) {
                throw ApiException.unavailable("usage_state_unavailable", "no policy document has been applied yet", RETRY_AFTER_SECONDS);
            }
            PolicyDocument policy = policyCache.parse(policyRecord);
            CustomerRecord record = customers.get(customer);
            Customer config = record == null ? Customer.unconfigured(customer, policy.defaultPlan().orElse(null)) : CustomerMapping.fromRecord(record);
            Map<String, LimitUsage> entries = new HashMap<>();
            try (KeyValueIterator<String, LimitUsage> it = limits.prefixScan(UsageKeys.customerPrefix(customer), Serdes.String().serializer())) {
                while (it.hasNext()) {
                    KeyValue<String, LimitUsage> entry = it.next();
                    entries.put(entry.key, entry.value);
                }
            }
            HttpServer.json(ctx, 200, UsageReport.build(config, policy, entries, clock.instant(), false));
        } catch (InvalidStateStoreException e) {
            throw rebalancing();
        }
    }

    private void forward(Context ctx, HostInfo owner, String customer) {
        URI uri = URI.create("http://" + owner.host() + ":" + owner.port() + "/v1/customers/"
                + URLEncoder.encode(customer, StandardCharsets.UTF_8).replace("+", "%20") + "/usage");
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(3))
                .header("Authorization", ctx.header("Authorization"))
                .header(FORWARDED, self.get().host() + ":" + self.get().port())
                .GET().build();
        try {
            HttpResponse<String> response = http.send(request, HttpResponse.BodyHandlers.ofString());
            response.headers().firstValue("Retry-After").ifPresent(v -> ctx.header("Retry-After", v));
            ctx.status(response.statusCode()).contentType("application/json").result(response.body());
        } catch (IOException e) {
            throw ApiException.unavailable("usage_state_unavailable",
                    "the instance that owns this customer's usage (" + owner.host() + ":" + owner.port() + ") did not answer; try again", RETRY_AFTER_SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw rebalancing();
        }
    }

    private static ApiException rebalancing() {
        return ApiException.unavailable("usage_state_unavailable",
                "usage state is moving between instances (rebalancing); try again in a moment", RETRY_AFTER_SECONDS);
    }
}

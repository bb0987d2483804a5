package io.capstream.aggregator.query;

import io.capstream.aggregator.topology.SeriesBook;
import io.capstream.aggregator.topology.UsageTopology;
import io.capstream.policy.booking.Series;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.runtime.ApiException;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.RecentDecisions;
import io.capstream.schemas.UsageBucket;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.mapping.ParsedPolicy;
import io.capstream.schemas.topics.Topics;
import io.javalin.http.Context;
import java.io.IOException;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.function.Consumer;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.KeyQueryMetadata;
import org.apache.kafka.streams.StoreQueryParameters;
import org.apache.kafka.streams.errors.InvalidStateStoreException;
import org.apache.kafka.streams.state.HostInfo;
import org.apache.kafka.streams.state.QueryableStoreTypes;
import org.apache.kafka.streams.state.ReadOnlyKeyValueStore;
import org.apache.kafka.streams.state.ReadOnlyWindowStore;

/**
 * Sends a customer's request to the instance that owns the customer's partition
 * ({@code queryMetadataForKey}) and, on the owner, opens that partition's stores. A request that
 * lands elsewhere is forwarded once (same method, path and body); while the group rebalances the
 * answer is 503 with {@code Retry-After}.
 */
final class OwnerRouter {
    static final String FORWARDED = "X-Capstream-Forwarded";
    private static final int RETRY_AFTER_SECONDS = 1;

    /** The owner's view of one customer's partition. */
    record Partition(int number, ReadOnlyKeyValueStore<String, LimitUsage> limits, ReadOnlyKeyValueStore<String, CustomerRecord> customers,
                     PolicyDocument policy, ReadOnlyWindowStore<String, UsageBucket> hourly, ReadOnlyWindowStore<String, UsageBucket> daily,
                     ReadOnlyKeyValueStore<String, SeriesBook.Rollup> rollups, ReadOnlyKeyValueStore<String, RecentDecisions> decisions,
                     ReadOnlyKeyValueStore<String, io.capstream.schemas.AuditEntry> audit,
                     ReadOnlyKeyValueStore<String, io.capstream.schemas.RunawayState> runaway) {
        Customer customer(String id) {
            CustomerRecord record = customers.get(id);
            return record == null ? Customer.unconfigured(id, policy.defaultPlan().orElse(null)) : CustomerMapping.fromRecord(record);
        }

        /** The customer's runaway breakers as the aggregator keeps them (open ones, and expired ones not yet closed). */
        List<io.capstream.policy.runaway.Breaker> breakers(String id) {
            io.capstream.schemas.RunawayState state = runaway.get(id);
            return state == null ? List.of() : state.getBreakers().stream().map(b -> io.capstream.schemas.mapping.RunawayMapping.breaker(state, b)).toList();
        }

        /**
         * The customer's hours or days that start in [from, to), folded as they are read into a fold that {@code fold} makes
         * (again, with a new one, when a rollup moved during a read of days: {@link SeriesBook#foldDays}). The series must be
         * kept ({@code series.enabled}).
         */
        <F extends Consumer<SeriesBook.Stored>> F series(Series.Granularity granularity, String customer, Instant from, Instant to, Supplier<F> fold) {
            if (granularity == Series.Granularity.HOUR) {
                F hours = fold.get();
                SeriesBook.read(hourly, customer, from, to, hours);
                return hours;
            }
            return SeriesBook.foldDays(daily, hourly, rollups, customer, from, to, fold);
        }
    }

    private final Supplier<KafkaStreams> streams;
    private final Supplier<HostInfo> self;
    private final ParsedPolicy parsedPolicy = new ParsedPolicy();
    private final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(2)).build();

    private final boolean series;

    OwnerRouter(Supplier<KafkaStreams> streams, Supplier<HostInfo> self, boolean series) {
        this.streams = streams;
        this.self = self;
        this.series = series;
    }

    /** This instance's query API as other instances reach it: {@code host:port}. */
    String self() {
        return self.get().host() + ":" + self.get().port();
    }

    /** The customer's partition when this instance owns it; otherwise the request is forwarded (and answered) and empty is returned. */
    Optional<Partition> localOrForward(Context ctx, String customer) {
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
            forward(ctx, owner.activeHost());
            return Optional.empty();
        }
        try {
            PolicyRecord policy = kafkaStreams.store(StoreQueryParameters
                    .fromNameAndType(UsageTopology.POLICY_STORE, QueryableStoreTypes.<String, PolicyRecord>keyValueStore())).get(Topics.POLICY_KEY);
            if (policy == null) {
                throw ApiException.unavailable("usage_state_unavailable", "no policy document has been applied yet", RETRY_AFTER_SECONDS);
            }
            return Optional.of(new Partition(owner.partition(),
                    kafkaStreams.store(StoreQueryParameters.fromNameAndType(UsageTopology.LIMITS_STORE,
                            QueryableStoreTypes.<String, LimitUsage>keyValueStore()).withPartition(owner.partition())),
                    kafkaStreams.store(StoreQueryParameters.fromNameAndType(UsageTopology.CUSTOMERS_STORE,
                            QueryableStoreTypes.<String, CustomerRecord>keyValueStore()).withPartition(owner.partition())),
                    parsedPolicy.parse(policy),
                    seriesStore(kafkaStreams, UsageTopology.SERIES_HOURLY_STORE, owner.partition()),
                    seriesStore(kafkaStreams, UsageTopology.SERIES_DAILY_STORE, owner.partition()),
                    series ? kafkaStreams.store(StoreQueryParameters.fromNameAndType(UsageTopology.SERIES_ROLLUPS_STORE,
                            QueryableStoreTypes.<String, SeriesBook.Rollup>keyValueStore()).withPartition(owner.partition())) : null,
                    kafkaStreams.store(StoreQueryParameters.fromNameAndType(UsageTopology.RECENT_DECISIONS_STORE,
                            QueryableStoreTypes.<String, RecentDecisions>keyValueStore()).withPartition(owner.partition())),
                    kafkaStreams.store(StoreQueryParameters.fromNameAndType(UsageTopology.AUDIT_STORE,
                            QueryableStoreTypes.<String, io.capstream.schemas.AuditEntry>keyValueStore()).withPartition(owner.partition())),
                    kafkaStreams.store(StoreQueryParameters.fromNameAndType(UsageTopology.RUNAWAY_STORE,
                            QueryableStoreTypes.<String, io.capstream.schemas.RunawayState>keyValueStore()).withPartition(owner.partition()))));
        } catch (InvalidStateStoreException e) {
            throw rebalancing();
        }
    }

    /** A usage series store of the partition, or null where the deployment keeps none ({@code series.enabled=false}). */
    private ReadOnlyWindowStore<String, UsageBucket> seriesStore(KafkaStreams kafkaStreams, String name, int partition) {
        if (!series) {
            return null;
        }
        return kafkaStreams.store(StoreQueryParameters.fromNameAndType(name, QueryableStoreTypes.<String, UsageBucket>windowStore())
                .withPartition(partition));
    }

    private void forward(Context ctx, HostInfo owner) {
        String query = ctx.queryString() == null ? "" : "?" + ctx.queryString();
        byte[] body = ctx.bodyAsBytes();
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create("http://" + owner.host() + ":" + owner.port() + ctx.path() + query))
                .timeout(Duration.ofSeconds(3))
                .header(FORWARDED, self.get().host() + ":" + self.get().port())
                .method(ctx.method().name(), body.length == 0 ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofByteArray(body));
        Optional.ofNullable(ctx.header("Authorization")).ifPresent(v -> request.header("Authorization", v));
        Optional.ofNullable(ctx.header("Content-Type")).ifPresent(v -> request.header("Content-Type", v));
        Optional.ofNullable(ctx.header("Accept")).ifPresent(v -> request.header("Accept", v));
        try {
            HttpResponse<String> response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
            response.headers().firstValue("Retry-After").ifPresent(v -> ctx.header("Retry-After", v));
            response.headers().firstValue(ReservationApi.OWNER).ifPresent(v -> ctx.header(ReservationApi.OWNER, v));
            ctx.status(response.statusCode()).contentType(response.headers().firstValue("Content-Type").orElse("application/json"))
                    .result(response.body());
        } catch (IOException e) {
            throw ApiException.unavailable("usage_state_unavailable",
                    "the instance that owns this customer (" + owner.host() + ":" + owner.port() + ") did not answer; try again", RETRY_AFTER_SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw rebalancing();
        }
    }

    static ApiException rebalancing() {
        return ApiException.unavailable("usage_state_unavailable",
                "usage state is moving between instances (rebalancing); try again in a moment", RETRY_AFTER_SECONDS);
    }
}

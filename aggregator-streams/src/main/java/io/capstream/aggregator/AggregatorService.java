package io.capstream.aggregator;

import io.capstream.aggregator.query.ReservationApi;
import io.capstream.aggregator.query.AnalyticsApi;
import io.capstream.aggregator.query.PortalApi;
import io.capstream.aggregator.query.UsageQueryApi;
import io.capstream.aggregator.strict.ReservationBook;
import io.capstream.aggregator.strict.ReservationLog;
import java.util.concurrent.CompletableFuture;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.StringSerializer;
import io.capstream.aggregator.topology.DeadLetterHandler;
import io.capstream.aggregator.topology.StoreOptions;
import io.capstream.aggregator.topology.UsageTopology;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.Configs;
import io.capstream.runtime.HttpServer;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PeriodTotal;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.ReservationRecord;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.TopicView;
import io.capstream.schemas.topics.Topics;
import io.javalin.Javalin;
import io.micrometer.core.instrument.binder.kafka.KafkaStreamsMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import org.apache.kafka.streams.KafkaStreams;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.StreamsUncaughtExceptionHandler;
import org.apache.kafka.streams.state.HostInfo;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The aggregator: the Kafka Streams topology plus its query API. */
public final class AggregatorService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(AggregatorService.class);

    private final Javalin http;
    private final KafkaStreams streams;
    private volatile KafkaStreams started;
    private volatile HostInfo self;
    private final KafkaProducer<String, ReservationRecord> reservationProducer;

    private final TopicView<io.capstream.schemas.EnforcementMetrics> metricsView;

    public AggregatorService(AggregatorConfig config, Clock clock) {
        Topics topics = new Topics(config.service().topicPrefix());
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        ApiKeys keys = ApiKeys.fromFile(config.apiKeysFile()).acceptingPortalTokens(config.portalTokens());
        SchemaRegistryClient registry = new SchemaRegistryClient(config.service().registryUrl());
        boolean auto = config.service().autoRegister();
        ReservationBook reservations = new ReservationBook(config.reservationHold(), clock);
        this.reservationProducer = reservationProducer(config, RegistryAvroSerde.of(ReservationRecord.class, registry, auto));
        ReservationLog reservationLog = records -> CompletableFuture.allOf(records.stream().map(r -> {
            CompletableFuture<Void> acked = new CompletableFuture<>();
            reservationProducer.send(new ProducerRecord<>(topics.reservations(), r.getCustomer(), r),
                    (metadata, e) -> { if (e == null) acked.complete(null); else acked.completeExceptionally(e); });
            return acked;
        }).toArray(CompletableFuture[]::new));
        // the decision metrics, whole: every instance answers GET /v1/analytics/limits for every plan
        this.metricsView = new TopicView<>(topics.enforcementMetrics(), config.service().kafkaClient(),
                RegistryAvroSerde.of(io.capstream.schemas.EnforcementMetrics.class, registry, false));
        // The HTTP server starts first: its real port is the one other instances are told about.
        this.http = HttpServer.start(config.service().httpHost(), config.service().httpPort(), metrics, "/openapi-query.json",
                () -> started != null && started.state() == KafkaStreams.State.RUNNING, cfg -> {
                    UsageQueryApi usage = new UsageQueryApi(() -> started, () -> self, keys, clock, config.seriesRetention());
                    usage.routes(cfg);
                    new ReservationApi(usage, reservations, reservationLog, keys, clock).routes(cfg);
                    new PortalApi(keys, config.portalTokens(), config.controlUrl(), config.portalFrameAncestors(), clock).routes(cfg);
                    new AnalyticsApi(metricsView, keys, clock).routes(cfg);
                });
        this.self = new HostInfo(config.advertisedHost(), http.port());

        UsageTopology.TopicSerdes serdes = new UsageTopology.TopicSerdes(
                RegistryAvroSerde.of(UsageEvent.class, registry, auto), RegistryAvroSerde.of(CustomerRecord.class, registry, auto),
                RegistryAvroSerde.of(PolicyRecord.class, registry, auto), RegistryAvroSerde.of(LimitUsage.class, registry, auto),
                RegistryAvroSerde.of(ThresholdCrossed.class, registry, auto), RegistryAvroSerde.of(PeriodTotal.class, registry, auto),
                RegistryAvroSerde.of(ReservationRecord.class, registry, auto),
                RegistryAvroSerde.of(io.capstream.schemas.EnforcementDecision.class, registry, auto),
                RegistryAvroSerde.of(io.capstream.schemas.RunawayState.class, registry, auto),
                RegistryAvroSerde.of(io.capstream.schemas.MetricsContribution.class, registry, auto),
                RegistryAvroSerde.of(io.capstream.schemas.EnforcementMetrics.class, registry, auto),
                RegistryAvroSerde.of(io.capstream.schemas.AuditEntry.class, registry, auto),
                RegistryAvroSerde.of(io.capstream.schemas.BillingAdjustment.class, registry, auto));
        this.streams = startStreams(UsageTopology.build(topics, config.window(), serdes, reservations, config.seriesRetention()),
                streamsProperties(config, topics, self), config);
        new KafkaStreamsMetrics(streams).bindTo(metrics);
        this.started = streams;
        LOG.info("aggregator query API on {}:{} (advertised as {})", config.service().httpHost(), http.port(), self);
    }

    /**
     * Opens the streams client on the local state and starts it. A process killed at the wrong moment
     * can leave a store's files unreadable (a RocksDB directory without its MANIFEST), found either when
     * the client is created or when it starts; then the local state of this application is dropped and
     * rebuilt from the changelogs, which exactly-once keeps complete.
     */
    private static KafkaStreams startStreams(org.apache.kafka.streams.Topology topology, Properties props, AggregatorConfig config) {
        KafkaStreams streams = null;
        try {
            streams = configured(new KafkaStreams(topology, props));
            streams.start();
            return streams;
        } catch (org.apache.kafka.streams.errors.ProcessorStateException e) {
            if (streams != null) {
                streams.close(java.time.Duration.ofSeconds(10));
            }
            java.io.File local = config.stateDir().resolve(config.applicationId()).toFile();
            LOG.warn("local state in {} cannot be opened ({}); rebuilding it from the changelogs", local, e.getMessage());
            try {
                org.apache.kafka.common.utils.Utils.delete(local);
            } catch (java.io.IOException io) {
                throw new java.io.UncheckedIOException("cannot remove unreadable local state " + local, io);
            }
            KafkaStreams rebuilt = configured(new KafkaStreams(topology, props));
            rebuilt.start();
            return rebuilt;
        }
    }

    private static KafkaStreams configured(KafkaStreams streams) {
        streams.setUncaughtExceptionHandler(e -> {
            LOG.error("stream thread failed; replacing it", e);
            return StreamsUncaughtExceptionHandler.StreamThreadExceptionResponse.REPLACE_THREAD;
        });
        streams.setStateListener((now, before) -> LOG.info("aggregator state {} -> {}", before, now));
        return streams;
    }

    static Properties streamsProperties(AggregatorConfig config, Topics topics, HostInfo self) {
        Properties props = new Properties();
        props.putAll(config.service().kafka());
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, config.applicationId());
        props.put(StreamsConfig.BOOTSTRAP_SERVERS_CONFIG, config.service().bootstrapServers());
        props.put(StreamsConfig.PROCESSING_GUARANTEE_CONFIG, StreamsConfig.EXACTLY_ONCE_V2);
        props.put(StreamsConfig.STATE_DIR_CONFIG, config.stateDir().toString());
        props.put(StreamsConfig.APPLICATION_SERVER_CONFIG, self.host() + ":" + self.port());
        props.put(StreamsConfig.NUM_STANDBY_REPLICAS_CONFIG, config.standbyReplicas());
        props.put(StreamsConfig.NUM_STREAM_THREADS_CONFIG, config.streamThreads());
        props.put(StreamsConfig.COMMIT_INTERVAL_MS_CONFIG, config.commitIntervalMs());
        props.put(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG, topics.usageEventsDlq());
        props.put(StreamsConfig.PROCESSING_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
        props.put(StreamsConfig.DESERIALIZATION_EXCEPTION_HANDLER_CLASS_CONFIG, DeadLetterHandler.class);
        props.put(StreamsConfig.TOPOLOGY_OPTIMIZATION_CONFIG, StreamsConfig.OPTIMIZE);
        props.putIfAbsent(StreamsConfig.ROCKSDB_CONFIG_SETTER_CLASS_CONFIG, StoreOptions.class); // an operator's own may replace it
        props.put(StoreOptions.MEMORY_CONFIG, config.rocksdbMemoryBytes());
        // Usage and customer changes share a task; wait briefly for both partitions to have data so a
        // configuration change written before some usage is usually booked before it.
        props.putIfAbsent(StreamsConfig.MAX_TASK_IDLE_MS_CONFIG, 50L);
        // An instance that dies without leaving the group (SIGKILL, a lost machine) keeps its tasks until the broker
        // notices: 10 s instead of the client's 45 s, so its customers are answered by a standby again within seconds.
        props.putIfAbsent(org.apache.kafka.clients.consumer.ConsumerConfig.SESSION_TIMEOUT_MS_CONFIG, 10_000);
        props.putIfAbsent(org.apache.kafka.clients.consumer.ConsumerConfig.HEARTBEAT_INTERVAL_MS_CONFIG, 2_000);
        return props;
    }

    public int port() {
        return http.port();
    }

    public KafkaStreams streams() {
        return streams;
    }

    /** Writes reservations before they are answered: acknowledged by every in-sync replica, without duplicates. */
    private static KafkaProducer<String, ReservationRecord> reservationProducer(AggregatorConfig config, Serde<ReservationRecord> serde) {
        Map<String, Object> props = new java.util.HashMap<>(config.service().kafkaClient());
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.LINGER_MS_CONFIG, 0);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 2_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 5_000);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 2_000);
        return new KafkaProducer<>(props, new StringSerializer(), serde.serializer());
    }

    @Override
    public void close() {
        streams.close(Duration.ofSeconds(30));
        http.stop();
        reservationProducer.close(Duration.ofSeconds(5));
        metricsView.close();
    }

    public static void main(String[] args) {
        Path file = args.length > 0 ? Path.of(args[0]) : null;
        AggregatorService service = new AggregatorService(AggregatorConfig.from(Configs.read(file, System.getenv(), Map.of())), Clock.systemUTC());
        Runtime.getRuntime().addShutdownHook(new Thread(service::close, "aggregator-shutdown"));
    }
}

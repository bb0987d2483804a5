package io.capstream.enforcement;

import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.Configs;
import io.capstream.runtime.HttpServer;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.EnforcementDecision;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.RunawayState;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.TopicView;
import io.capstream.schemas.topics.Topics;
import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.common.serialization.StringSerializer;
import java.time.Clock;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

/** The enforcement sidecar: an {@link Enforcer} fed from Kafka, behind {@code POST /v1/check}. */
public final class EnforcementService implements AutoCloseable {
    private final List<TopicView<?>> views;
    private final Enforcer enforcer;
    private final DecisionLog log;
    private final Javalin http;

    public EnforcementService(EnforcementConfig config, Clock clock) {
        Topics topics = new Topics(config.service().topicPrefix());
        SchemaRegistryClient registry = new SchemaRegistryClient(config.service().registryUrl());
        Map<String, Object> kafka = config.service().kafkaClient();
        TopicView<CustomerRecord> customers = new TopicView<>(topics.customers(), kafka, RegistryAvroSerde.of(CustomerRecord.class, registry, false));
        TopicView<PolicyRecord> policies = new TopicView<>(topics.policy(), kafka, RegistryAvroSerde.of(PolicyRecord.class, registry, false));
        TopicView<LimitUsage> usage = new TopicView<>(topics.usageAggregates(), kafka, RegistryAvroSerde.of(LimitUsage.class, registry, false));
        TopicView<RunawayState> runaway = new TopicView<>(topics.runawayBreakers(), kafka, RegistryAvroSerde.of(RunawayState.class, registry, false));
        this.views = List.of(customers, policies, usage, runaway);
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Map<String, Object> producerProps = new HashMap<>(kafka);
        producerProps.put(ProducerConfig.ACKS_CONFIG, "1");
        producerProps.put(ProducerConfig.LINGER_MS_CONFIG, 50);
        producerProps.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 1_000);
        this.log = new DecisionLog(new KafkaProducer<>(producerProps, new StringSerializer(),
                RegistryAvroSerde.of(EnforcementDecision.class, registry, config.service().autoRegister())), topics.enforcementDecisions(),
                config.sampleAllows(), config.decisionQueue(), config.service().httpHost() + ":" + config.service().httpPort(), metrics);
        this.enforcer = Enforcer.builder(customers, policies, usage).pendingFor(config.pendingFor()).stalenessBound(config.stalenessBound())
                .listener(both(log, new DecisionMetrics(metrics, usage::lastHeard, clock))).clock(clock).strictReservations(config.aggregatorUrl(), config.aggregatorKey(), config.reserveTimeout())
                .runaway(runaway).build();
        // blocked cost and downgrade savings in the decision log, priced with the policy in force
        log.costing((request, model) -> request.estimatedCost().orElseGet(() -> enforcer.policy().map(p -> {
            try {
                return io.capstream.policy.catalogue.Pricing.cost(p, model, request.estimate());
            } catch (RuntimeException e) { // a model the policy no longer prices
                return null;
            }
        }).orElse(null)));
        SidecarApi api = new SidecarApi(enforcer, ApiKeys.fromFile(config.apiKeysFile()));
        this.http = HttpServer.start(config.service().httpHost(), config.service().httpPort(), metrics, "/openapi-check.json", enforcer::ready,
                javalin -> { }, api.routes());
    }

    private static Enforcer.Listener both(Enforcer.Listener first, Enforcer.Listener second) {
        return (request, decision, at) -> {
            first.decided(request, decision, at);
            second.decided(request, decision, at);
        };
    }

    public Enforcer enforcer() {
        return enforcer;
    }

    public int port() {
        return http.port();
    }

    @Override
    public void close() {
        http.stop();
        log.close();
        views.forEach(TopicView::close);
    }

    public static void main(String[] args) {
        Path file = args.length > 0 ? Path.of(args[0]) : null;
        EnforcementService service = new EnforcementService(EnforcementConfig.from(Configs.read(file, System.getenv(), Map.of())), Clock.systemUTC());
        Runtime.getRuntime().addShutdownHook(new Thread(service::close, "enforcement-shutdown"));
    }
}

package io.capstream.ingest;

import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.Configs;
import io.capstream.runtime.CustomerRateLimiter;
import io.capstream.runtime.HttpServer;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.TopicView;
import io.capstream.schemas.topics.Topics;
import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Supplier;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyValidationException;
import io.capstream.schemas.mapping.ParsedPolicy;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/** The ingest service: HTTP in, Kafka out. */
public final class IngestService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(IngestService.class);

    private final EventPublisher publisher;
    private final Admin admin;
    private final TopicView<CustomerRecord> customers;
    private final TopicView<PolicyRecord> policies;
    private final CustomerWriter customerWriter;
    private final PolicyPublisher policyPublisher;
    private final Javalin http;

    public IngestService(IngestConfig config, Clock clock) {
        Topics topics = new Topics(config.service().topicPrefix());
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        this.publisher = new EventPublisher(config, new SchemaRegistryClient(config.service().registryUrl()), topics.usageEvents());
        Map<String, Object> adminProps = config.service().kafkaClient();
        adminProps.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2_000);
        adminProps.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 1_000);
        this.admin = Admin.create(adminProps);
        ApiKeys keys = ApiKeys.fromFile(config.apiKeysFile()).acceptingPortalTokens(config.portalTokens());
        SchemaRegistryClient registry = new SchemaRegistryClient(config.service().registryUrl());
        Map<String, Object> kafka = config.service().kafkaClient();
        this.customers = new TopicView<>(topics.customers(), kafka, RegistryAvroSerde.of(CustomerRecord.class, registry, false));
        this.policies = new TopicView<>(topics.policy(), kafka, RegistryAvroSerde.of(PolicyRecord.class, registry, false));
        this.customerWriter = new CustomerWriter(kafka, RegistryAvroSerde.of(CustomerRecord.class, registry, config.service().autoRegister()),
                topics.customers(), customers, admin, RegistryAvroSerde.of(io.capstream.schemas.AuditEntry.class, registry, config.service().autoRegister()),
                topics.auditLog());
        this.policyPublisher = new PolicyPublisher(kafka, registry, config.service().autoRegister(), topics);
        Supplier<Optional<PolicyDocument>> policy = policyInForce();
        IngestApi api = new IngestApi(keys, new EventParser(new EventTimeWindow(config.lateWindow()), policy), publisher, clock, metrics,
                new CustomerRateLimiter(config.eventsPerSecond()), new CustomerRateLimiter(config.amendmentsPerSecond()));
        ControlApi control = new ControlApi(keys, customers, policies, policy, customerWriter, policyPublisher, clock,
                config.secrets(), config.webhookAllowedHosts());
        this.http = HttpServer.start(config.service().httpHost(), config.service().httpPort(), metrics, "/openapi-ingest.json",
                () -> customers.caughtUp() && policies.caughtUp() && topicReachable(topics.usageEvents()), cfg -> {
                    api.routes(cfg);
                    control.routes(cfg);
                });
        LOG.info("ingest listening on {}:{}, writing to {}", config.service().httpHost(), http.port(), topics.usageEvents());
    }

    /** The policy document in force, parsed once per version; empty before one is applied, or if the stored one no longer parses. */
    private Supplier<Optional<PolicyDocument>> policyInForce() {
        ParsedPolicy parsed = new ParsedPolicy();
        return () -> {
            try {
                return policies.get(Topics.POLICY_KEY).map(parsed::parse);
            } catch (PolicyValidationException e) {
                LOG.error("the stored policy document no longer validates; events are priced by the aggregator only: {}", e.errors());
                return Optional.empty();
            }
        };
    }

    public int port() {
        return http.port();
    }

    private boolean topicReachable(String topic) {
        try {
            admin.describeTopics(List.of(topic)).allTopicNames().get(2, TimeUnit.SECONDS);
            return true;
        } catch (Exception e) {
            return false;
        }
    }

    @Override
    public void close() {
        http.stop();
        publisher.close();
        customerWriter.close();
        policyPublisher.close();
        customers.close();
        policies.close();
        admin.close();
    }

    public static void main(String[] args) {
        Path file = args.length > 0 ? Path.of(args[0]) : null;
        IngestService service = new IngestService(IngestConfig.from(Configs.read(file, System.getenv(), Map.of())), Clock.systemUTC());
        Runtime.getRuntime().addShutdownHook(new Thread(service::close, "ingest-shutdown"));
    }
}

package io.capstream.ingest;

import io.capstream.policy.EventTimeWindow;
import io.capstream.runtime.ApiKeys;
import io.capstream.runtime.Configs;
import io.capstream.runtime.HttpServer;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.topics.Topics;
import io.javalin.Javalin;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.util.List;
import java.util.Map;
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
    private final Javalin http;

    public IngestService(IngestConfig config, Clock clock) {
        Topics topics = new Topics(config.topicPrefix());
        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        this.publisher = new EventPublisher(config, new SchemaRegistryClient(config.registryUrl()), topics.usageEvents());
        Map<String, Object> adminProps = new java.util.HashMap<>(config.kafka());
        adminProps.put(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, config.bootstrapServers());
        adminProps.put(AdminClientConfig.DEFAULT_API_TIMEOUT_MS_CONFIG, 2_000);
        adminProps.put(AdminClientConfig.REQUEST_TIMEOUT_MS_CONFIG, 1_000);
        this.admin = Admin.create(adminProps);
        IngestApi api = new IngestApi(ApiKeys.fromFile(config.apiKeysFile()), new EventParser(new EventTimeWindow(config.lateWindow())),
                publisher, clock, metrics);
        this.http = HttpServer.start(config.httpHost(), config.httpPort(), metrics, "/openapi-ingest.json",
                () -> topicReachable(topics.usageEvents()), api::routes);
        LOG.info("ingest listening on {}:{}, writing to {}", config.httpHost(), http.port(), topics.usageEvents());
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
        admin.close();
    }

    public static void main(String[] args) {
        Path file = args.length > 0 ? Path.of(args[0]) : null;
        IngestService service = new IngestService(IngestConfig.from(Configs.read(file, System.getenv(), Map.of())), Clock.systemUTC());
        Runtime.getRuntime().addShutdownHook(new Thread(service::close, "ingest-shutdown"));
    }
}

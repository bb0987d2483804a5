package io.capstream.deploy;

import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.AvroCodec;
import io.capstream.schemas.topics.TopicSpec;
import io.capstream.schemas.topics.Topics;
import java.io.PrintWriter;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.avro.Schema;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Spec;

/**
 * Creates Capstream's topics (partitions and cleanup policies of DESIGN 2) and registers the value
 * schemas under {@code <topic>-value} with BACKWARD compatibility. Idempotent: what exists is kept.
 */
@Command(name = "setup", description = "Create topics and register schemas (idempotent).")
final class SetupCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--replication-factor", defaultValue = "1")
    short replicationFactor;

    @Option(names = "--late-window", defaultValue = "PT24H", description = "ISO-8601 duration, at most 35 days (P35D); usage-events keep it plus a day.")
    Duration lateWindow;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        new io.capstream.policy.booking.EventTimeWindow(lateWindow); // refuses a window longer than the dedup store is sized for
        Topics topics = cluster.topics();
        try (Admin admin = Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers))) {
            Set<String> existing = admin.listTopics().names().get(30, TimeUnit.SECONDS);
            for (TopicSpec topic : topics.specs(lateWindow)) {
                if (existing.contains(topic.name())) {
                    out.printf("topic %-40s exists%n", topic.name());
                } else {
                    admin.createTopics(List.of(topic.toNewTopic(replicationFactor))).all().get(30, TimeUnit.SECONDS);
                    out.printf("topic %-40s created (%d partitions, %s)%n", topic.name(), topic.partitions(),
                            topic.configs().get("cleanup.policy"));
                }
            }
        }
        SchemaRegistryClient registry = new SchemaRegistryClient(cluster.registryUrl);
        registry.setGlobalCompatibility("BACKWARD");
        for (var topic : new java.util.TreeMap<>(topics.valueTypes()).entrySet()) {
            String subject = Topics.valueSubject(topic.getKey());
            Schema schema = new AvroCodec<>(topic.getValue()).schema();
            int id = registry.register(subject, schema);
            registry.setCompatibility(subject, "BACKWARD");
            out.printf("schema %-39s id %d (BACKWARD)%n", subject, id);
        }
        out.flush();
        return 0;
    }
}

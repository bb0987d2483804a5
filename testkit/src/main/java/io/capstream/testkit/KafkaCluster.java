package io.capstream.testkit;

import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.admin.Admin;
import org.apache.kafka.clients.admin.AdminClientConfig;
import org.apache.kafka.clients.admin.NewTopic;
import org.apache.kafka.common.errors.TopicExistsException;
import org.apache.kafka.common.test.KafkaClusterTestKit;
import org.apache.kafka.common.utils.Exit;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.apache.kafka.common.test.TestKitNodes;
import org.apache.kafka.server.common.MetadataVersion;

/**
 * A real KRaft cluster (one combined broker and controller) running in this JVM, on random ports.
 * About 2.5 s to start. Tests share one per class, or one per JVM through {@link SharedStack}.
 */
public final class KafkaCluster implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(KafkaCluster.class);
    private final KafkaClusterTestKit kit;

    private KafkaCluster(KafkaClusterTestKit kit) {
        this.kit = kit;
    }

    public static KafkaCluster start() {
        // Kafka's test utilities delete the cluster's temporary directories in a JVM shutdown hook,
        // which can race with the broker's own shutdown; a broker that then fails to write a
        // checkpoint halts the JVM with status 1. In a test JVM that must not turn a green run red.
        Exit.setHaltProcedure((status, message) -> LOG.warn("in-process broker asked to halt with {}: {}", status, message));
        Exit.setExitProcedure((status, message) -> LOG.warn("in-process broker asked to exit with {}: {}", status, message));
        try {
            KafkaClusterTestKit kit = new KafkaClusterTestKit.Builder(
                            new TestKitNodes.Builder()
                                    .setBootstrapMetadataVersion(MetadataVersion.latestProduction())
                                    .setCombined(true).setNumBrokerNodes(1).setNumControllerNodes(1).build())
                    .setConfigProp("offsets.topic.replication.factor", "1")
                    .setConfigProp("transaction.state.log.replication.factor", "1")
                    .setConfigProp("transaction.state.log.min.isr", "1")
                    .setConfigProp("group.initial.rebalance.delay.ms", "0")
                    .setConfigProp("auto.create.topics.enable", "false")
                    .build();
            kit.format();
            kit.startup();
            kit.waitForReadyBrokers();
            return new KafkaCluster(kit);
        } catch (Exception e) {
            throw new IllegalStateException("could not start the in-process Kafka cluster", e);
        }
    }

    public String bootstrapServers() {
        return kit.bootstrapServers();
    }

    public Admin admin() {
        return Admin.create(Map.of(AdminClientConfig.BOOTSTRAP_SERVERS_CONFIG, bootstrapServers()));
    }

    /** Creates the topics (replication factor 1) and waits until they exist; existing ones are kept. */
    public void createTopics(List<NewTopic> topics) {
        try (Admin admin = admin()) {
            for (NewTopic topic : topics) {
                try {
                    admin.createTopics(List.of(topic)).all().get(30, TimeUnit.SECONDS);
                } catch (ExecutionException e) {
                    if (!(e.getCause() instanceof TopicExistsException)) {
                        throw e;
                    }
                }
            }
        } catch (Exception e) {
            throw new IllegalStateException("could not create topics " + topics, e);
        }
    }

    @Override
    public void close() throws Exception {
        kit.close();
    }
}

package io.capstream.testkit;

import java.nio.file.Path;

/**
 * One Kafka cluster and one registry per JVM, started on first use and stopped when the JVM exits.
 * Integration tests use it so that a whole module's tests pay the start-up once; each test derives
 * its own topic names (see {@link TopicNames}) so tests never share data.
 */
public final class SharedStack {
    private static KafkaCluster kafka;
    private static ApicurioRegistry registry;

    private SharedStack() {}

    public static synchronized KafkaCluster kafka() {
        if (kafka == null) {
            kafka = KafkaCluster.start();
            Runtime.getRuntime().addShutdownHook(new Thread(() -> {
                try {
                    kafka.close();
                } catch (Exception e) {
                    // the JVM is exiting; the cluster's directories are temporary
                }
            }, "shared-kafka-stop"));
        }
        return kafka;
    }

    public static synchronized ApicurioRegistry registry() {
        if (registry == null) {
            registry = ApicurioRegistry.start(Path.of("target", "apicurio-" + ProcessHandle.current().pid() + ".log"));
            Runtime.getRuntime().addShutdownHook(new Thread(registry::close, "shared-registry-stop"));
        }
        return registry;
    }
}

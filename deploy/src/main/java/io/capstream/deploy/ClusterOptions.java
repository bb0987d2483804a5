package io.capstream.deploy;

import io.capstream.schemas.topics.Topics;
import picocli.CommandLine.Option;

/** Where Capstream's topics and schemas live: shared by the commands that talk to Kafka and the registry. */
final class ClusterOptions {
    @Option(names = "--bootstrap-servers", required = true, description = "Kafka bootstrap servers.")
    String bootstrapServers;

    @Option(names = "--registry-url", required = true, description = "Confluent-compatible schema registry URL.")
    String registryUrl;

    @Option(names = "--topic-prefix", defaultValue = "", description = "Prefix of every Capstream topic name.")
    String prefix;

    Topics topics() {
        return new Topics(prefix);
    }
}

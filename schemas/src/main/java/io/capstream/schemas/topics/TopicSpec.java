package io.capstream.schemas.topics;

import java.util.Map;
import org.apache.kafka.clients.admin.NewTopic;

/** A topic as Capstream deploys it: name (with prefix), partitions, and topic configuration. */
public record TopicSpec(String name, int partitions, Map<String, String> configs) {
    public TopicSpec {
        configs = Map.copyOf(configs);
    }

    public NewTopic toNewTopic(short replicationFactor) {
        return new NewTopic(name, partitions, replicationFactor).configs(configs);
    }

    public TopicSpec withPartitions(int count) {
        return new TopicSpec(name, count, configs);
    }
}

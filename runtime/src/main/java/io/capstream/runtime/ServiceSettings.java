package io.capstream.runtime;

import java.util.HashMap;
import java.util.Map;

/**
 * The settings every Capstream service has (defined once by {@link Configs#withKafka} and
 * {@link Configs#withHttp}): the cluster, the registry, the topic prefix, the HTTP listener, and the
 * {@code kafka.*} settings passed to the clients unchanged (TLS, SASL).
 */
public record ServiceSettings(String bootstrapServers, String registryUrl, boolean autoRegister, String topicPrefix,
                              String httpHost, int httpPort, Map<String, Object> kafka) {
    public ServiceSettings {
        kafka = Map.copyOf(kafka);
    }

    /** The validated values of those keys, and the raw settings for the {@code kafka.*} pass-through. */
    public static ServiceSettings from(Map<String, Object> validated, Map<String, String> raw) {
        return new ServiceSettings((String) validated.get(Configs.BOOTSTRAP_SERVERS), (String) validated.get(Configs.REGISTRY_URL),
                (Boolean) validated.get(Configs.AUTO_REGISTER), (String) validated.get(Configs.TOPIC_PREFIX),
                (String) validated.get(Configs.HTTP_HOST), (Integer) validated.get(Configs.HTTP_PORT), Configs.kafkaPassThrough(raw));
    }

    /** Properties for a Kafka client of this service: the pass-through settings and the bootstrap servers. */
    public Map<String, Object> kafkaClient() {
        Map<String, Object> props = new HashMap<>(kafka);
        props.put("bootstrap.servers", bootstrapServers);
        return props;
    }
}

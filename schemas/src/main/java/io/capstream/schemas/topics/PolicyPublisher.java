package io.capstream.schemas.topics;

import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.Instant;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringSerializer;

/**
 * Publishes a policy document to the compacted {@code policy} topic after validating it: the one way
 * a document reaches the aggregators (the CLI's {@code policy apply} and {@code PUT /v1/policy} both
 * use it). A document that does not validate is never written.
 */
public final class PolicyPublisher implements AutoCloseable {
    private final KafkaProducer<String, PolicyRecord> producer;
    private final String topic;

    public PolicyPublisher(Map<String, Object> kafka, SchemaRegistryClient registry, boolean autoRegister, Topics topics) {
        Map<String, Object> props = new HashMap<>(kafka);
        props.put(ProducerConfig.ACKS_CONFIG, "all");
        props.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        props.put(ProducerConfig.MAX_BLOCK_MS_CONFIG, 5_000);
        props.put(ProducerConfig.DELIVERY_TIMEOUT_MS_CONFIG, 10_000);
        props.put(ProducerConfig.REQUEST_TIMEOUT_MS_CONFIG, 5_000);
        this.producer = new KafkaProducer<>(props, new StringSerializer(), RegistryAvroSerde.of(PolicyRecord.class, registry, autoRegister));
        this.topic = topics.policy();
    }

    /** A published version and where it was written. */
    public record Applied(PolicyRecord record, long offset) {}

    /**
     * Validates and publishes the document; returns the record written and its offset.
     *
     * @throws io.capstream.policy.catalogue.PolicyValidationException listing every problem, when it does not validate
     */
    public Applied publish(String yaml, Instant now) throws Exception {
        PolicyLoader.fromYaml(yaml);
        PolicyRecord record = PolicyRecord.newBuilder()
                .setName(Topics.POLICY_KEY).setVersion(sha256(yaml)).setSource(yaml).setAppliedAt(now).build();
        long offset = producer.send(new ProducerRecord<>(topic, Topics.POLICY_KEY, record)).get(15, TimeUnit.SECONDS).offset();
        return new Applied(record, offset);
    }

    static String sha256(String text) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(text.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException(e);
        }
    }

    @Override
    public void close() {
        producer.close();
    }
}

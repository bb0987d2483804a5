package io.capstream.notifier;

import io.capstream.policy.limit.Cap;
import io.capstream.policy.customer.Customer;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.NotificationDeadLetter;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.Topics;
import io.capstream.testkit.SharedStack;
import io.capstream.testkit.TopicNames;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;

/** Topics of its own on the shared real cluster and registry, and helpers to write customers and threshold events. */
final class NotifierFixture {
    static final String SECRET = "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw";
    final Topics topics;
    final SchemaRegistryClient registry = new SchemaRegistryClient(SharedStack.registry().url());

    NotifierFixture(String name) {
        topics = new Topics(TopicNames.prefixFor(name));
        SharedStack.kafka().createTopics(topics.specs(Duration.ofHours(24)).stream().map(s -> s.toNewTopic((short) 1)).toList());
    }

    Map<String, String> config(int smtpPort) {
        Map<String, String> config = new HashMap<>();
        config.put(NotifierConfig.BOOTSTRAP_SERVERS, SharedStack.kafka().bootstrapServers());
        config.put(RegistryAvroSerde.REGISTRY_URL, SharedStack.registry().url());
        config.put(RegistryAvroSerde.AUTO_REGISTER, "true");
        config.put(NotifierConfig.TOPIC_PREFIX, topics.prefix());
        config.put(NotifierConfig.GROUP_ID, topics.prefix() + "notifier");
        config.put(NotifierConfig.HTTP_HOST, "127.0.0.1");
        config.put(NotifierConfig.HTTP_PORT, "0");
        config.put(NotifierConfig.SMTP_HOST, "127.0.0.1");
        config.put(NotifierConfig.SMTP_PORT, Integer.toString(smtpPort));
        config.put(NotifierConfig.WEBHOOK_TIMEOUT_MS, "10000");
        config.put(NotifierConfig.RETRY_INITIAL_MS, "300");
        config.put(NotifierConfig.RETRY_MAX_MS, "3000");
        config.put(NotifierConfig.RETRY_HORIZON_MS, "60000");
        config.put("secret.keys", io.capstream.testkit.TestSecrets.KEYS);
        config.put(NotifierConfig.WEBHOOK_ALLOWED_HOSTS, "127.0.0.1,localhost");
        return config;
    }

    void customer(String id, List<String> emails, String webhookUrl) throws Exception {
        customer(id, emails, webhookUrl, Customer.Contacts.OnJump.EACH);
    }

    void customer(String id, List<String> emails, String webhookUrl, Customer.Contacts.OnJump onJump) throws Exception {
        Customer customer = new Customer(id, "pro", ZoneId.of("America/Los_Angeles"), 1,
                new Customer.Contacts(emails, Optional.ofNullable(webhookUrl), Optional.ofNullable(webhookUrl == null ? null
                        : io.capstream.runtime.SecretBox.parse(io.capstream.testkit.TestSecrets.KEYS).seal(SECRET)), // as the control API stores it
                        List.of(), List.of(), onJump),
                false, Customer.Status.ACTIVE, List.<Cap>of(), List.of());
        try (KafkaProducer<String, CustomerRecord> producer = new KafkaProducer<>(Map.of("bootstrap.servers", SharedStack.kafka().bootstrapServers()),
                new StringSerializer(), RegistryAvroSerde.of(CustomerRecord.class, registry, true))) {
            producer.send(new ProducerRecord<>(topics.customers(), id, CustomerMapping.toRecord(customer, Instant.now()))).get(10, TimeUnit.SECONDS);
        }
    }

    /** Writes {@code count} customers without contacts ({@code prefix-0}, {@code prefix-1}, …): records the customers view must read. */
    void otherCustomers(String prefix, int count) throws Exception {
        CustomerRecord record = CustomerMapping.toRecord(new Customer(prefix, "pro", ZoneId.of("UTC"), 1,
                new Customer.Contacts(List.of(), Optional.empty(), Optional.empty(), List.of(), List.of(), Customer.Contacts.OnJump.EACH),
                false, Customer.Status.ACTIVE, List.<Cap>of(), List.of()), Instant.now());
        try (KafkaProducer<String, CustomerRecord> producer = new KafkaProducer<>(Map.of("bootstrap.servers", SharedStack.kafka().bootstrapServers()),
                new StringSerializer(), RegistryAvroSerde.of(CustomerRecord.class, registry, true))) {
            for (int i = 0; i < count; i++) {
                producer.send(new ProducerRecord<>(topics.customers(), prefix + "-" + i, record));
            }
            producer.flush();
        }
    }

    static ThresholdCrossed crossing(String customer, String threshold, String used) {
        return ThresholdCrossed.newBuilder()
                .setId(customer + "|cap:team|2026-11-01T07:00:00Z|" + threshold).setCustomer(customer).setLimitId("cap:team")
                .setLabel("Team budget").setKind("cap").setThreshold(threshold)
                .setUsed(new BigDecimal(used).setScale(18)).setLimit(new BigDecimal("100").setScale(18)).setMeasure("USD")
                .setPeriodStart(Instant.parse("2026-11-01T07:00:00Z")).setResetsAt("2026-12-01T00:00-08:00")
                .setTimezone("America/Los_Angeles").setAction("block")
                .setRaiseCapUrl("https://app.example.com/limits?customer=" + customer).setUpgradeUrl(null).setTopUpUrl(null)
                .setCrossedAt(Instant.now())
                .build();
    }

    void publish(ThresholdCrossed... events) throws Exception {
        try (KafkaProducer<String, ThresholdCrossed> producer = new KafkaProducer<>(Map.of("bootstrap.servers", SharedStack.kafka().bootstrapServers()),
                new StringSerializer(), RegistryAvroSerde.of(ThresholdCrossed.class, registry, true))) {
            for (ThresholdCrossed e : events) {
                producer.send(new ProducerRecord<>(topics.thresholdEvents(), e.getCustomer(), e));
            }
            producer.flush();
        }
    }

    KafkaConsumer<String, NotificationDeadLetter> deadLetters() {
        Map<String, Object> props = new HashMap<>();
        props.put(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, SharedStack.kafka().bootstrapServers());
        props.put(ConsumerConfig.GROUP_ID_CONFIG, "dlq-check-" + System.nanoTime());
        props.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        KafkaConsumer<String, NotificationDeadLetter> consumer = new KafkaConsumer<>(props, new StringDeserializer(),
                RegistryAvroSerde.of(NotificationDeadLetter.class, registry, false));
        consumer.subscribe(List.of(topics.notificationDlq()));
        return consumer;
    }
}

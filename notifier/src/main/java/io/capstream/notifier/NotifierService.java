package io.capstream.notifier;

import io.capstream.runtime.Configs;
import io.capstream.runtime.HttpServer;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.DeliveryAttempt;
import io.capstream.schemas.NotificationDeadLetter;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.TopicView;
import io.capstream.schemas.topics.Topics;
import io.javalin.Javalin;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.serialization.StringDeserializer;
import org.apache.kafka.common.serialization.StringSerializer;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Turns {@code threshold-events} into signed webhooks and emails. A consumed event's offset is
 * committed only after every notification it causes was delivered or dead-lettered, so nothing is
 * lost; after a crash or rebalance the events not yet committed are notified again, with the same
 * {@code webhook-id} and email {@code Message-ID}, so receivers can drop the duplicates.
 */
public final class NotifierService implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(NotifierService.class);

    private final KafkaProducer<String, Object> producer;
    private final Dispatcher dispatcher;
    private final Topics topics;
    private final TopicView<CustomerRecord> customers;
    private final NotificationLoop loop;
    private final Javalin http;

    public NotifierService(NotifierConfig config, Clock clock) {
        this.topics = new Topics(config.service().topicPrefix());
        SchemaRegistryClient registry = new SchemaRegistryClient(config.service().registryUrl());
        Map<String, Object> kafka = config.service().kafkaClient();
        this.customers = new TopicView<>(topics.customers(), kafka, RegistryAvroSerde.of(CustomerRecord.class, registry, false));

        Map<String, Object> consumerProps = new HashMap<>(kafka);
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        KafkaConsumer<String, ThresholdCrossed> consumer = new KafkaConsumer<>(consumerProps, new StringDeserializer(),
                RegistryAvroSerde.of(ThresholdCrossed.class, registry, false));

        Map<String, Object> producerProps = new HashMap<>(kafka);
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        RegistryAvroSerde<DeliveryAttempt> attemptSerde = RegistryAvroSerde.of(DeliveryAttempt.class, registry, config.service().autoRegister());
        RegistryAvroSerde<NotificationDeadLetter> letterSerde = RegistryAvroSerde.of(NotificationDeadLetter.class, registry, config.service().autoRegister());
        this.producer = new KafkaProducer<>(producerProps, new StringSerializer(), (topic, value) -> value instanceof DeliveryAttempt a
                ? attemptSerde.serialize(topic, a) : letterSerde.serialize(topic, (NotificationDeadLetter) value));
        // resolve the schema ids once, here, rather than in the middle of many concurrent deliveries
        registry.idOrRegister(Topics.valueSubject(topics.notificationDeliveries()), DeliveryAttempt.getClassSchema(), config.service().autoRegister());
        registry.idOrRegister(Topics.valueSubject(topics.notificationDlq()), NotificationDeadLetter.getClassSchema(), config.service().autoRegister());

        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        Counter notifications = Counter.builder("capstream.notifier.notifications").description("Notifications started").register(metrics);
        Counter delivered = Counter.builder("capstream.notifier.delivered").register(metrics);
        Counter deadLettered = Counter.builder("capstream.notifier.dead.lettered").register(metrics);
        this.dispatcher = new Dispatcher(config.backoff(), clock, new Random(), new Dispatcher.Sink() {
            @Override
            public void attempt(DeliveryAttempt attempt) {
                if ("delivered".equals(attempt.getStatus())) {
                    delivered.increment();
                }
                producer.send(new ProducerRecord<>(topics.notificationDeliveries(), attempt.getCustomer(), attempt), (m, e) -> {
                    if (e != null) {
                        LOG.warn("delivery log write failed for {}", attempt.getNotificationId(), e);
                    }
                });
            }

            @Override
            public void deadLetter(NotificationDeadLetter letter) throws Exception {
                producer.send(new ProducerRecord<>(topics.notificationDlq(), letter.getCustomer(), letter)).get(10, TimeUnit.SECONDS);
                deadLettered.increment();
                LOG.warn("notification {} to {} dead-lettered: {}", letter.getNotificationId(), letter.getChannel(), letter.getReason());
            }
        }, config.deliveryThreads());
        WebhookSender webhooks = new WebhookSender(config.webhookTimeout(), clock, config.webhookAllowedHosts());
        EmailSender email = new EmailSender(config.smtpHost(), config.smtpPort(), config.smtpFrom(), config.smtpUsername(), config.smtpPassword(),
                config.webhookTimeout());
        // a notification must be delivered or dead-lettered by the horizon; past it (with margin) commits have stalled
        Duration stalledAfter = config.backoff().horizon().plus(config.webhookTimeout().multipliedBy(2)).plus(Duration.ofMinutes(5));
        this.loop = new NotificationLoop(consumer, topics.thresholdEvents(), customers, dispatcher, webhooks, email, config.secrets(),
                config.maxInFlight(), stalledAfter, notifications, clock);
        io.micrometer.core.instrument.Gauge.builder("capstream.notifier.commit.held", () -> loop.uncommittedFor().toMillis() / 1000.0)
                .description("Seconds the oldest notification in flight has held back its partition's offset commit").baseUnit("seconds")
                .register(metrics);
        new io.micrometer.core.instrument.binder.kafka.KafkaClientMetrics(consumer).bindTo(metrics);
        this.http = HttpServer.start(config.service().httpHost(), config.service().httpPort(), metrics, "/openapi-notifier.json",
                loop::ready, cfg -> { });
    }

    public int port() {
        return http.port();
    }

    /** Whether the loop runs with partitions and the customer directory, and its commits are not stalled. */
    boolean ready() {
        return loop.ready();
    }

    @Override
    public void close() {
        loop.stop();
        dispatcher.close();
        producer.close(Duration.ofSeconds(5));
        customers.close();
        http.stop();
    }

    public static void main(String[] args) {
        Path file = args.length > 0 ? Path.of(args[0]) : null;
        NotifierService service = new NotifierService(NotifierConfig.from(Configs.read(file, System.getenv(), Map.of())), Clock.systemUTC());
        Runtime.getRuntime().addShutdownHook(new Thread(service::close, "notifier-shutdown"));
    }
}

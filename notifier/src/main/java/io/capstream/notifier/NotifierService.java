package io.capstream.notifier;

import io.capstream.policy.Customer;
import io.capstream.runtime.Configs;
import io.capstream.runtime.HttpServer;
import io.capstream.runtime.SecretBox;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.DeliveryAttempt;
import io.capstream.schemas.NotificationDeadLetter;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.schemas.topics.TopicView;
import io.capstream.schemas.topics.Topics;
import io.javalin.Javalin;
import io.micrometer.core.instrument.Counter;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import java.math.BigDecimal;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Random;
import java.util.concurrent.TimeUnit;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.clients.producer.KafkaProducer;
import org.apache.kafka.clients.producer.ProducerConfig;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
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

    private final KafkaConsumer<String, ThresholdCrossed> consumer;
    private final KafkaProducer<String, Object> producer;
    private final TopicView<CustomerRecord> customers;
    private final Dispatcher dispatcher;
    private final WebhookSender webhooks;
    private final EmailSender email;
    private final OffsetTracker offsets = new OffsetTracker();
    private final Topics topics;
    private final Clock clock;
    private final int maxInFlight;
    private final Javalin http;
    private final Thread loop;
    private final Counter notifications;
    private volatile boolean running = true;
    private volatile boolean assigned;
    private final SecretBox secrets;
    /** A notification still in flight after this long means commits have stalled (it should be delivered or dead-lettered). */
    private final Duration stalledAfter;

    public NotifierService(NotifierConfig config, Clock clock) {
        this.topics = new Topics(config.topicPrefix());
        this.clock = clock;
        this.maxInFlight = config.maxInFlight();
        SchemaRegistryClient registry = new SchemaRegistryClient(config.registryUrl());
        Map<String, Object> kafka = new HashMap<>(config.kafka());
        kafka.put("bootstrap.servers", config.bootstrapServers());
        this.customers = new TopicView<>(topics.customers(), kafka, RegistryAvroSerde.of(CustomerRecord.class, registry, false));

        Map<String, Object> consumerProps = new HashMap<>(kafka);
        consumerProps.put(ConsumerConfig.GROUP_ID_CONFIG, config.groupId());
        consumerProps.put(ConsumerConfig.ENABLE_AUTO_COMMIT_CONFIG, false);
        consumerProps.put(ConsumerConfig.ISOLATION_LEVEL_CONFIG, "read_committed");
        consumerProps.put(ConsumerConfig.AUTO_OFFSET_RESET_CONFIG, "earliest");
        this.consumer = new KafkaConsumer<>(consumerProps, new StringDeserializer(), RegistryAvroSerde.of(ThresholdCrossed.class, registry, false));

        Map<String, Object> producerProps = new HashMap<>(kafka);
        producerProps.put(ProducerConfig.ACKS_CONFIG, "all");
        producerProps.put(ProducerConfig.ENABLE_IDEMPOTENCE_CONFIG, true);
        RegistryAvroSerde<DeliveryAttempt> attemptSerde = RegistryAvroSerde.of(DeliveryAttempt.class, registry, config.autoRegister());
        RegistryAvroSerde<NotificationDeadLetter> letterSerde = RegistryAvroSerde.of(NotificationDeadLetter.class, registry, config.autoRegister());
        this.producer = new KafkaProducer<>(producerProps, new StringSerializer(), (topic, value) -> value instanceof DeliveryAttempt a
                ? attemptSerde.serialize(topic, a) : letterSerde.serialize(topic, (NotificationDeadLetter) value));
        // resolve the schema ids once, here, rather than in the middle of many concurrent deliveries
        registry.idOrRegister(Topics.valueSubject(topics.notificationDeliveries()), DeliveryAttempt.getClassSchema(), config.autoRegister());
        registry.idOrRegister(Topics.valueSubject(topics.notificationDlq()), NotificationDeadLetter.getClassSchema(), config.autoRegister());

        PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);
        this.notifications = Counter.builder("capstream.notifier.notifications").description("Notifications started").register(metrics);
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
        this.webhooks = new WebhookSender(config.webhookTimeout(), clock, config.webhookAllowedHosts());
        this.secrets = config.secrets();
        this.stalledAfter = config.backoff().horizon().plus(config.webhookTimeout().multipliedBy(2)).plus(Duration.ofMinutes(5));
        this.email = new EmailSender(config.smtpHost(), config.smtpPort(), config.smtpFrom(), config.smtpUsername(), config.smtpPassword(),
                config.webhookTimeout());
        this.http = HttpServer.start(config.httpHost(), config.httpPort(), metrics, "/openapi-notifier.json",
                this::ready, cfg -> { });
        this.loop = Thread.ofPlatform().name("notifier-loop").start(this::run);
    }

    public int port() {
        return http.port();
    }

    /**
     * Ready while the consumer loop runs, has partitions and the customer directory, and no notification
     * has been in flight past the retry horizon (which would hold back the partition's commits for ever).
     */
    boolean ready() {
        return assigned && customers.caughtUp() && loop != null && loop.isAlive()
                && offsets.oldestStart().map(t -> t.plus(stalledAfter).isAfter(clock.instant())).orElse(true);
    }

    private void run() {
        try {
            while (running && !customers.caughtUp()) {
                Thread.sleep(100); // configuration first: a notification needs the customer's contacts
            }
            consumer.subscribe(List.of(topics.thresholdEvents()), new ConsumerRebalanceListener() {
                @Override
                public void onPartitionsRevoked(Collection<TopicPartition> partitions) {
                    commit();
                    partitions.forEach(offsets::forget);
                }

                @Override
                public void onPartitionsAssigned(Collection<TopicPartition> partitions) {
                    assigned = true;
                }
            });
            long lastCommit = System.nanoTime();
            while (running) {
                if (offsets.inFlight() >= maxInFlight) {
                    consumer.pause(consumer.assignment());
                } else {
                    consumer.resume(consumer.paused());
                }
                for (ConsumerRecord<String, ThresholdCrossed> record : consumer.poll(Duration.ofMillis(200))) {
                    notify(record);
                }
                if (System.nanoTime() - lastCommit > Duration.ofMillis(500).toNanos()) {
                    commitAsync();
                    lastCommit = System.nanoTime();
                }
            }
            commit();
        } catch (WakeupException e) {
            // closing
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        } catch (RuntimeException e) {
            LOG.error("notifier loop stopped", e);
        } finally {
            consumer.close(Duration.ofSeconds(5));
        }
    }

    private void notify(ConsumerRecord<String, ThresholdCrossed> record) {
        TopicPartition tp = new TopicPartition(record.topic(), record.partition());
        ThresholdCrossed event = record.value();
        if (event == null) {
            offsets.started(tp, record.offset(), 0, clock.instant());
            return;
        }
        Optional<Customer> customer = customers.get(event.getCustomer()).map(CustomerMapping::fromRecord);
        List<Delivery> deliveries = new ArrayList<>();
        Instant now = clock.instant();
        BigDecimal threshold = new BigDecimal(event.getThreshold());
        customer.ifPresent(c -> {
            Customer.Contacts contacts = c.contacts();
            if (contacts.webhookUrl().isPresent() && contacts.webhookSecret().isPresent() && contacts.webhookWants(threshold)) {
                String url = contacts.webhookUrl().get();
                String sealed = contacts.webhookSecret().get();
                deliveries.add(new Delivery(event, "webhook", url, () -> {
                    String secret;
                    try {
                        secret = secrets.open(sealed);
                    } catch (IllegalArgumentException e) {
                        return new Outcome.Refused("the customer's webhook secret cannot be opened: " + e.getMessage(), Optional.empty());
                    }
                    return webhooks.send(url, secret, event);
                }, now, 0));
            }
            if (!contacts.emails().isEmpty() && contacts.emailWants(threshold)) {
                List<String> to = contacts.emails();
                deliveries.add(new Delivery(event, "email", String.join(", ", to), () -> email.send(to, event), now, 0));
            }
        });
        offsets.started(tp, record.offset(), deliveries.size(), now);
        for (Delivery d : deliveries) {
            notifications.increment();
            dispatcher.submit(d, () -> offsets.finished(tp, record.offset()));
        }
    }

    /** While running: commit what is done without stopping the loop; a failed commit is retried by the next one. */
    private void commitAsync() {
        Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committable = offsets.committable();
        committable.keySet().retainAll(consumer.assignment());
        consumer.commitAsync(committable, (done, e) -> {
            if (e != null) {
                LOG.debug("offset commit failed; the next one retries", e);
            }
        });
    }

    private void commit() {
        Map<TopicPartition, org.apache.kafka.clients.consumer.OffsetAndMetadata> committable = offsets.committable();
        committable.keySet().retainAll(consumer.assignment());
        if (!committable.isEmpty()) {
            try {
                consumer.commitSync(committable, Duration.ofSeconds(10));
            } catch (RuntimeException e) {
                LOG.warn("offset commit failed; the notifications will be sent again after a restart", e);
            }
        }
    }

    @Override
    public void close() {
        running = false;
        consumer.wakeup();
        try {
            loop.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
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

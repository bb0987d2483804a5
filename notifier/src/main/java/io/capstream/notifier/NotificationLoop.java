package io.capstream.notifier;

import io.capstream.policy.customer.Customer;
import io.capstream.runtime.SecretBox;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.ThresholdCrossed;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.topics.TopicView;
import io.micrometer.core.instrument.Counter;
import java.math.BigDecimal;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collection;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.apache.kafka.clients.consumer.ConsumerRebalanceListener;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.errors.WakeupException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * The consume-deliver-commit loop: reads {@code threshold-events}, starts each notification on every
 * channel the customer wants, and commits an event's offset only after all of them were delivered or
 * dead-lettered. Wired by {@link NotifierService}.
 */
final class NotificationLoop {
    private static final Logger LOG = LoggerFactory.getLogger(NotificationLoop.class);

    private final KafkaConsumer<String, ThresholdCrossed> consumer;
    private final TopicView<CustomerRecord> customers;
    private final Dispatcher dispatcher;
    private final WebhookSender webhooks;
    private final EmailSender email;
    private final SecretBox secrets;
    private final OffsetTracker offsets = new OffsetTracker();
    private final String topic;
    private final Clock clock;
    private final int maxInFlight;
    private final Counter notifications;
    /** A notification still in flight after this long means commits have stalled (it should be delivered or dead-lettered). */
    private final Duration stalledAfter;
    private final Thread loop;
    private volatile boolean running = true;
    private volatile boolean assigned;

    NotificationLoop(KafkaConsumer<String, ThresholdCrossed> consumer, String topic, TopicView<CustomerRecord> customers, Dispatcher dispatcher,
                     WebhookSender webhooks, EmailSender email, SecretBox secrets, int maxInFlight, Duration stalledAfter, Counter notifications,
                     Clock clock) {
        this.consumer = consumer;
        this.topic = topic;
        this.customers = customers;
        this.dispatcher = dispatcher;
        this.webhooks = webhooks;
        this.email = email;
        this.secrets = secrets;
        this.maxInFlight = maxInFlight;
        this.stalledAfter = stalledAfter;
        this.notifications = notifications;
        this.clock = clock;
        this.loop = Thread.ofPlatform().name("notifier-loop").start(this::run);
    }

    /**
     * Ready while the consumer loop runs, has partitions and the customer directory, and no notification
     * has been in flight past the retry horizon (which would hold back the partition's commits for ever).
     */
    /** How long the oldest notification still in flight has held back its partition's commit (zero when none is). */
    java.time.Duration uncommittedFor() {
        return offsets.oldestStart().map(t -> java.time.Duration.between(t, clock.instant())).orElse(java.time.Duration.ZERO);
    }

    boolean ready() {
        return assigned && customers.caughtUp() && loop.isAlive()
                && offsets.oldestStart().map(t -> t.plus(stalledAfter).isAfter(clock.instant())).orElse(true);
    }

    private void run() {
        try {
            while (running && !customers.caughtUp()) {
                Thread.sleep(100); // configuration first: a notification needs the customer's contacts
            }
            consumer.subscribe(List.of(topic), new ConsumerRebalanceListener() {
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
                List<ConsumerRecord<String, ThresholdCrossed>> batch = new ArrayList<>();
                consumer.poll(Duration.ofMillis(200)).forEach(batch::add);
                for (int i = 0; i < batch.size(); ) {
                    int end = jumpEnd(batch, i);
                    notify(batch.subList(i, end));
                    i = end;
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

    /**
     * Where the jump that starts at {@code from} ends: for a customer who wants one notification per jump
     * ({@code notify_on_jump: highest}), the following records of the same change — the same limit and
     * period, crossed at the same moment with the same usage (the aggregator writes them together, lowest
     * first) — belong to it; otherwise each record is its own.
     */
    private int jumpEnd(List<ConsumerRecord<String, ThresholdCrossed>> batch, int from) throws InterruptedException {
        ThresholdCrossed first = batch.get(from).value();
        int end = from + 1;
        if (first == null || customer(first.getCustomer())
                .map(c -> c.contacts().notifyOnJump() != Customer.Contacts.OnJump.HIGHEST).orElse(true)) {
            return end;
        }
        while (end < batch.size() && sameJump(first, batch.get(end).value()) && batch.get(end).partition() == batch.get(from).partition()) {
            end++;
        }
        return end;
    }

    /**
     * The customer's configuration. The view reads the customers topic on a thread of its own, so a customer
     * written just before its first crossing may not be in it yet: for one it does not hold, the view first
     * reads up to the topic's current end, and only a customer still unknown then (deleted, say) gets no
     * notification. Without this, a new customer's first crossings were dropped. While the view cannot read
     * (the registry unreachable), the crossing waits rather than being dropped; so do the ones behind it.
     */
    private Optional<Customer> customer(String id) throws InterruptedException {
        Optional<CustomerRecord> known = customers.get(id);
        if (known.isEmpty()) {
            List<TopicPartition> partitions = new ArrayList<>();
            for (int p = 0; p < customers.partitionCount(); p++) {
                partitions.add(new TopicPartition(customers.topic(), p));
            }
            while (running && !customersReadToTheirEnd(partitions)) {
                LOG.warn("the customers view has not read to the topic's end within {}; the crossing of {} waits for it", CATCH_UP, id);
            }
            known = customers.get(id);
            if (known.isEmpty()) {
                LOG.warn("customer {} is not in the customers topic; its threshold crossing is not notified", id);
            }
        }
        return known.map(CustomerMapping::fromRecord);
    }

    /** Whether the view has read the customers topic up to its end as of now (false if that took longer than {@link #CATCH_UP}). */
    private boolean customersReadToTheirEnd(List<TopicPartition> partitions) throws InterruptedException {
        try {
            return customers.awaitRead(consumer.endOffsets(partitions, CATCH_UP), CATCH_UP);
        } catch (org.apache.kafka.common.errors.TimeoutException e) {
            return false; // the broker did not answer; the loop must not die of it
        }
    }

    /** How long one wait for the customers view to read to the topic's end lasts before it is logged and repeated. */
    private static final Duration CATCH_UP = Duration.ofSeconds(10);

    private static boolean sameJump(ThresholdCrossed a, ThresholdCrossed b) {
        return b != null && a.getCustomer().equals(b.getCustomer()) && a.getLimitId().equals(b.getLimitId())
                && a.getPeriodStart().equals(b.getPeriodStart()) && a.getCrossedAt().equals(b.getCrossedAt()) && a.getUsed().compareTo(b.getUsed()) == 0;
    }

    /**
     * Starts one notification per channel for a group of crossings (one, or one jump's): about the highest
     * threshold the channel wants, naming every one of the group it wants. The group's first offset waits
     * for the deliveries, so nothing of it is committed before they are done.
     */
    private void notify(List<ConsumerRecord<String, ThresholdCrossed>> group) throws InterruptedException {
        ConsumerRecord<String, ThresholdCrossed> first = group.get(0);
        TopicPartition tp = new TopicPartition(first.topic(), first.partition());
        List<ThresholdCrossed> events = group.stream().map(ConsumerRecord::value).filter(java.util.Objects::nonNull).toList();
        Optional<Customer> customer = events.isEmpty() ? Optional.empty() : customer(events.get(0).getCustomer());
        List<Delivery> deliveries = new ArrayList<>();
        Instant now = clock.instant();
        customer.ifPresent(c -> {
            Customer.Contacts contacts = c.contacts();
            List<ThresholdCrossed> forWebhook = events.stream().filter(e -> contacts.webhookWants(new BigDecimal(e.getThreshold()))).toList();
            if (contacts.webhookUrl().isPresent() && contacts.webhookSecret().isPresent() && !forWebhook.isEmpty()) {
                String url = contacts.webhookUrl().get();
                String sealed = contacts.webhookSecret().get();
                ThresholdCrossed top = forWebhook.getLast();
                List<String> thresholds = forWebhook.stream().map(ThresholdCrossed::getThreshold).toList();
                deliveries.add(new Delivery(top, "webhook", url, () -> {
                    String secret;
                    try {
                        secret = secrets.open(sealed);
                    } catch (IllegalArgumentException e) {
                        return new Outcome.Refused("the customer's webhook secret cannot be opened: " + e.getMessage(), Optional.empty());
                    }
                    return webhooks.send(url, secret, top, thresholds);
                }, now, 0));
            }
            List<ThresholdCrossed> forEmail = events.stream().filter(e -> contacts.emailWants(new BigDecimal(e.getThreshold()))).toList();
            if (!contacts.emails().isEmpty() && !forEmail.isEmpty()) {
                List<String> to = contacts.emails();
                ThresholdCrossed top = forEmail.getLast();
                List<String> thresholds = forEmail.stream().map(ThresholdCrossed::getThreshold).toList();
                deliveries.add(new Delivery(top, "email", String.join(", ", to), () -> email.send(to, top, thresholds), now, 0));
            }
        });
        offsets.started(tp, first.offset(), deliveries.size(), now);
        for (ConsumerRecord<String, ThresholdCrossed> rest : group.subList(1, group.size())) {
            offsets.started(tp, rest.offset(), 0, now);
        }
        for (Delivery d : deliveries) {
            notifications.increment();
            dispatcher.submit(d, () -> offsets.finished(tp, first.offset()));
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

    /** Stops reading, commits what is done, and waits for the loop to end. */
    void stop() {
        running = false;
        consumer.wakeup();
        try {
            loop.join(10_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}

package io.capstream.notifier;

import io.capstream.schemas.DeliveryAttempt;
import io.capstream.schemas.NotificationDeadLetter;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.random.RandomGenerator;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Runs deliveries on a pool of platform threads, each attempt bounded by its timeout, with retries
 * waiting on a timer rather than on a thread, so a slow or dead endpoint only ever delays its own
 * notifications. (Platform threads, not virtual ones: many first deliveries at once initialise the
 * same classes, and a virtual thread waiting on another's class initialisation pins its carrier,
 * which on a two-core machine stalled every delivery.) Failures worth retrying are retried with {@link Backoff} until the
 * horizon; the rest, and those past the horizon, are dead-lettered with the reason. Every attempt
 * is logged. {@code done} runs once per delivery, after it was delivered or dead-lettered.
 */
final class Dispatcher implements AutoCloseable {
    private static final Logger LOG = LoggerFactory.getLogger(Dispatcher.class);

    /** Where attempts and dead letters go. A dead letter must be stored before {@code done} runs. */
    interface Sink {
        void attempt(DeliveryAttempt attempt);

        void deadLetter(NotificationDeadLetter letter) throws Exception;
    }

    private final Backoff backoff;
    private final Clock clock;
    private final RandomGenerator random;
    private final Sink sink;
    private final ExecutorService workers;
    private final ScheduledExecutorService timer = Executors.newSingleThreadScheduledExecutor(r -> Thread.ofPlatform().daemon().name("retry-timer").unstarted(r));

    Dispatcher(Backoff backoff, Clock clock, RandomGenerator random, Sink sink, int threads) {
        this.workers = Executors.newFixedThreadPool(threads, r -> Thread.ofPlatform().daemon().name("delivery-", 0).unstarted(r));
        this.backoff = backoff;
        this.clock = clock;
        this.random = random;
        this.sink = sink;
    }

    /**
     * Delivers in order per lane: a customer's notifications about one limit on one channel go one after
     * another, in the order submitted (the order of {@code threshold-events}: lowest threshold first), each
     * after the one before was delivered or dead-lettered; different lanes run in parallel, so a slow or
     * failing endpoint delays only its own lane. Without this, one event that crosses 50, 80 and 100 %
     * reached people as 50, 100, 80 (issue "Runaway protection, notifications in order").
     */
    void submit(Delivery delivery, Runnable done) {
        String lane = lane(delivery);
        Runnable start = () -> workers.submit(() -> attempt(delivery, () -> {
            done.run();
            next(lane);
        }));
        synchronized (lanes) {
            java.util.ArrayDeque<Runnable> waiting = lanes.get(lane);
            if (waiting != null) {
                waiting.add(start);
                return;
            }
            lanes.put(lane, new java.util.ArrayDeque<>());
        }
        start.run();
    }

    /** Lanes with a delivery under way, each with the deliveries waiting behind it. */
    private final java.util.Map<String, java.util.ArrayDeque<Runnable>> lanes = new java.util.HashMap<>();

    static String lane(Delivery d) {
        return d.event().getCustomer() + '|' + d.event().getLimitId() + '|' + d.channel();
    }

    /** The lane's delivery finished: start the next one waiting, or close the lane. */
    private void next(String lane) {
        Runnable following;
        synchronized (lanes) {
            java.util.ArrayDeque<Runnable> waiting = lanes.get(lane);
            following = waiting == null ? null : waiting.poll();
            if (following == null) {
                lanes.remove(lane);
            }
        }
        if (following != null) {
            following.run();
        }
    }

    /**
     * One attempt and what follows it. Nothing may escape: an exception thrown on a pool thread would be
     * swallowed by its {@code Future}, and the notification would vanish with its offset never committed.
     * Anything unexpected after the attempt dead-letters the notification with the reason.
     */
    private void attempt(Delivery delivery, Runnable done) {
        Delivery current = delivery.next();
        try {
            handle(current, done);
        } catch (RuntimeException | Error e) {
            LOG.error("delivery of {} to {} failed unexpectedly; dead-lettering it", current.event().getId(), current.channel(), e);
            deadLetter(current, "unexpected failure while delivering: " + e, Optional.empty(), 0, clock.instant(), done);
        }
    }

    private void handle(Delivery current, Runnable done) {
        long started = System.nanoTime();
        Outcome outcome;
        try {
            outcome = current.send().get();
        } catch (RuntimeException e) {
            outcome = new Outcome.Retry("unexpected: " + e, Optional.empty(), Optional.empty());
        }
        long latency = Duration.ofNanos(System.nanoTime() - started).toMillis();
        Instant now = clock.instant();
        switch (outcome) {
            case Outcome.Delivered d -> {
                sink.attempt(log(current, "delivered", d.httpStatus(), null, latency, now, null));
                done.run();
            }
            case Outcome.Refused r -> deadLetter(current, r.reason(), r.httpStatus(), latency, now, done);
            case Outcome.Retry r -> {
                // a receiver's Retry-After never asks for longer than the horizon (a huge one would overflow the timer)
                Duration delay = backoff.delay(current.attempts(), r.retryAfter().map(backoff::capped), random);
                Instant next = now.plus(delay);
                if (!backoff.allows(current.firstAttempt(), next)) {
                    deadLetter(current, r.reason() + "; still failing after " + current.attempts() + " attempts, past the retry horizon of "
                            + backoff.horizon(), r.httpStatus(), latency, now, done);
                    return;
                }
                sink.attempt(log(current, "retrying", r.httpStatus(), r.reason(), latency, now, next));
                timer.schedule(() -> workers.submit(() -> attempt(current, done)), delay.toMillis(), TimeUnit.MILLISECONDS);
            }
        }
    }

    private void deadLetter(Delivery d, String reason, Optional<Integer> status, long latency, Instant now, Runnable done) {
        sink.attempt(log(d, "dead_lettered", status, reason, latency, now, null));
        NotificationDeadLetter letter = NotificationDeadLetter.newBuilder()
                .setNotificationId(d.event().getId()).setCustomer(d.event().getCustomer()).setChannel(d.channel())
                .setDestination(d.destination()).setReason(reason).setAttempts(d.attempts()).setEvent(d.event()).setAt(now)
                .build();
        while (true) {
            try {
                sink.deadLetter(letter);
                done.run();
                return;
            } catch (Exception e) {
                // never drop: keep trying to store the dead letter; its offset is not committed meanwhile
                LOG.warn("could not store the dead letter of {} yet; retrying", d.event().getId(), e);
                try {
                    Thread.sleep(1_000);
                } catch (InterruptedException ie) {
                    Thread.currentThread().interrupt();
                    return;
                }
            }
        }
    }

    private static DeliveryAttempt log(Delivery d, String status, Optional<Integer> http, String error, long latency, Instant at, Instant next) {
        return DeliveryAttempt.newBuilder()
                .setNotificationId(d.event().getId()).setCustomer(d.event().getCustomer()).setChannel(d.channel())
                .setDestination(d.destination()).setAttempt(d.attempts()).setStatus(status).setHttpStatus(http.orElse(null))
                .setError(error).setLatencyMs(latency).setAt(at).setNextAttemptAt(next)
                .build();
    }

    @Override
    public void close() {
        timer.shutdownNow();
        workers.shutdownNow();
    }
}

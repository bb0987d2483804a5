package io.capstream.enforcement;

import java.math.BigDecimal;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.capstream.schemas.EnforcementDecision;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ArrayBlockingQueue;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;
import org.apache.kafka.clients.producer.Producer;
import org.apache.kafka.clients.producer.ProducerRecord;

/**
 * The decision log on {@code enforcement-decisions}: refusals, downgrades and warnings, and a
 * sample of plain allows. A customer refused or warned thousands of times a second about the same
 * limit is written once a second per code and limit, each record counting the repeats it stands for
 * ({@code represents}), so the totals stay exact and the log does not grow with the request rate. The hot path only offers to a bounded queue and never waits for Kafka;
 * when the log falls behind, decisions are dropped and counted
 * ({@code capstream_enforcement_decisions_dropped_total}), checks are never slowed.
 */
final class DecisionLog implements Enforcer.Listener, AutoCloseable {
    /** A request's estimated cost (USD) on a model, or null when it cannot be priced; for blocked cost and downgrade savings. */
    interface Costing {
        BigDecimal cost(CheckRequest request, String model);

        /** The cost the request states ({@code estimate.cost}), if any. */
        Costing STATED = (request, model) -> request.estimatedCost().orElse(null);
    }

    private volatile Costing costing = Costing.STATED;
    private final BlockingQueue<EnforcementDecision> queue;
    private final Producer<String, EnforcementDecision> producer;
    private final String topic;
    private final double sampleAllows;
    /** What one sampled allow stands for: 1 / the sampling rate (100 at 0.01). */
    private final int allowsPerSample;
    private final String instance;
    private final Counter dropped;
    private final Thread writer;
    private final java.time.Clock clock;
    private final Map<RepeatKey, Repeats> repeats = new java.util.concurrent.ConcurrentHashMap<>();
    private volatile boolean running = true;

    DecisionLog(Producer<String, EnforcementDecision> producer, String topic, double sampleAllows, int capacity, String instance,
                MeterRegistry metrics) {
        this(producer, topic, sampleAllows, capacity, instance, metrics, java.time.Clock.systemUTC());
    }

    /** @param clock the enforcer's: which second a decision was made in, and which seconds have passed */
    DecisionLog(Producer<String, EnforcementDecision> producer, String topic, double sampleAllows, int capacity, String instance,
                MeterRegistry metrics, java.time.Clock clock) {
        this.clock = clock;
        this.queue = new ArrayBlockingQueue<>(capacity);
        this.producer = producer;
        this.topic = topic;
        this.sampleAllows = sampleAllows;
        this.allowsPerSample = sampleAllows <= 0 ? 1 : (int) Math.max(1, Math.round(1 / sampleAllows));
        this.instance = instance;
        this.dropped = Counter.builder("capstream.enforcement.decisions.dropped").description("Decisions not logged because the log fell behind")
                .register(metrics);
        this.writer = Thread.ofPlatform().daemon().name("decision-log").start(this::drain);
    }

    /** Prices refused and downgraded requests (the service's: with the policy in force). */
    void costing(Costing costing) {
        this.costing = costing;
    }

    @Override
    public void decided(CheckRequest request, Decision decision, Instant at) {
        if (decision.outcome() == Decision.Outcome.ALLOW) {
            if (ThreadLocalRandom.current().nextDouble() < sampleAllows) {
                offer(record(request, decision, at, allowsPerSample, null, null));
            }
            return;
        }
        BigDecimal cost = costing.cost(request, request.model());
        BigDecimal savings = null;
        if (cost != null && decision.outcome() == Decision.Outcome.DOWNGRADE && decision.model().isPresent()) {
            BigDecimal used = costing.cost(request, decision.model().get());
            savings = used == null ? null : cost.subtract(used).max(BigDecimal.ZERO);
        }
        RepeatKey key = new RepeatKey(request.customer(), decision.code(), limitOf(decision));
        long second = at.getEpochSecond();
        while (true) {
            Repeats r = repeats.computeIfAbsent(key, k -> new Repeats());
            int represents;
            synchronized (r) {
                if (r.removed) {
                    continue; // swept away meanwhile: start a new one
                }
                if (r.second == second) {
                    r.folded++;
                    r.lastRequest = request;
                    r.lastDecision = decision;
                    r.lastAt = at;
                    r.cost = plus(r.cost, cost);
                    r.savings = plus(r.savings, savings);
                    return;
                }
                represents = r.folded + 1;
                r.folded = 0;
                r.second = second;
            }
            offer(record(request, decision, at, represents, cost, savings));
            return;
        }
    }

    /** The limit a decision is about: the refusing or downgrading limit, else the first warning's. */
    private static String limitOf(Decision decision) {
        if (decision.limit().isPresent()) {
            return decision.limit().get().id();
        }
        return decision.warnings().isEmpty() ? null : decision.warnings().getFirst().id();
    }

    private EnforcementDecision record(CheckRequest request, Decision decision, Instant at, int represents, BigDecimal cost, BigDecimal savings) {
        return EnforcementDecision.newBuilder()
                .setCustomer(request.customer()).setFeature(request.feature()).setModel(request.model()).setUser(request.user())
                .setApiKey(request.apiKey()).setDecision(decision.outcome().name().toLowerCase()).setCode(decision.code().wire())
                .setStatus(SidecarApi.status(decision)).setModelUsed(decision.model().orElse(null))
                .setLimitId(decision.limit().map(Decision.LimitInfo::id).orElse(null)).setMessage(decision.message())
                .setDegraded(decision.degraded()).setInstance(instance).setAt(at).setRepresents(represents)
                .setCost(cost == null ? null : io.capstream.policy.input.Decimals.money(cost))
                .setSavings(savings == null ? null : io.capstream.policy.input.Decimals.money(savings))
                .build();
    }

    private void offer(EnforcementDecision record) {
        if (!queue.offer(record)) {
            dropped.increment(record.getRepresents());
        }
    }

    /**
     * Writes the repeats folded in seconds that have passed (so a burst that stops is still counted in
     * full), and forgets keys quiet for a second: the map holds only customers refused or warned just now.
     */
    private void sweepRepeats(long nowSecond) {
        for (Map.Entry<RepeatKey, Repeats> e : repeats.entrySet()) {
            Repeats r = e.getValue();
            EnforcementDecision flushed = null;
            synchronized (r) {
                if (r.second >= nowSecond) {
                    continue;
                }
                if (r.folded > 0) {
                    flushed = record(r.lastRequest, r.lastDecision, r.lastAt, r.folded, r.cost, r.savings);
                    r.folded = 0;
                    r.cost = null;
                    r.savings = null;
                    r.lastRequest = null;
                    r.lastDecision = null;
                    r.lastAt = null;
                } else if (r.second < nowSecond - 1) {
                    r.removed = true;
                    repeats.remove(e.getKey(), r);
                }
            }
            if (flushed != null) {
                offer(flushed);
            }
        }
    }

    /** Which repeats are folded together: one customer's decisions with the same code about the same limit. */
    private record RepeatKey(String customer, Decision.Code code, String limitId) {}

    /** The second a key was last written in, and the decisions folded since (the last of them kept to describe them). */
    private static final class Repeats {
        long second = Long.MIN_VALUE;
        int folded;
        CheckRequest lastRequest;
        Decision lastDecision;
        Instant lastAt;
        /** The folded decisions' summed costs and savings (null: none could be priced). */
        BigDecimal cost;
        BigDecimal savings;
        boolean removed;
    }

    private static BigDecimal plus(BigDecimal sum, BigDecimal add) {
        return add == null ? sum : sum == null ? add : sum.add(add);
    }

    /**
     * Drains the queue on a timer, not on each offer: a check that logs a decision only puts it in the
     * queue and never wakes this thread (which cost a sixth of the check when every answer was a warning).
     */
    private void drain() {
        List<EnforcementDecision> batch = new ArrayList<>();
        long swept = Long.MIN_VALUE;
        while (true) {
            boolean last = !running;
            long second = clock.instant().getEpochSecond();
            if (last || second != swept) { // once a second (folds wait for their second to end), and every fold on closing
                sweepRepeats(last ? Long.MAX_VALUE : second);
                swept = second;
            }
            queue.drainTo(batch, 1000);
            if (batch.isEmpty()) {
                if (last) {
                    return;
                }
                LockSupport.parkNanos(DRAIN_INTERVAL_NANOS);
                continue;
            }
            try {
                for (EnforcementDecision d : batch) {
                    producer.send(new ProducerRecord<>(topic, d.getCustomer(), d), (m, e) -> {
                        if (e != null) {
                            dropped.increment(d.getRepresents());
                        }
                    });
                }
            } catch (RuntimeException e) {
                dropped.increment(batch.stream().mapToInt(EnforcementDecision::getRepresents).sum());
            }
            batch.clear();
        }
    }

    private static final long DRAIN_INTERVAL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    @Override
    public void close() {
        running = false;
        try {
            writer.join(5_000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        producer.close(java.time.Duration.ofSeconds(5));
    }
}

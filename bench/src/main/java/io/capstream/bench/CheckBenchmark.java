package io.capstream.bench;

import io.capstream.enforcement.Enforcer;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.input.Decimals;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.mapping.CustomerMapping;
import io.capstream.schemas.topics.KeyedState;
import io.capstream.schemas.topics.Topics;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The in-process check on a warm cache: a customer on a plan with an entitlement and two caps
 * (one of them per user), with usage known for each, asking for a chat request on a catalogue model.
 * Run with {@code -bm sample} for percentiles and {@code -bm thrpt} for checks per second, one thread.
 */
@State(Scope.Benchmark)
@BenchmarkMode({Mode.SampleTime, Mode.Throughput})
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(1)
@Threads(1)
public class CheckBenchmark {
    static final String POLICY = """
            models:
              gpt-4o: {tier: premium, downgrade_to: gpt-4o-mini, prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
              gpt-4o-mini: {tier: standard, prices: {input_tokens: "0.15/1M", output_tokens: "0.60/1M"}}
            plans:
              pro:
                price: "20"
                model_tiers: [standard, premium]
                entitlements:
                  chat: {measure: USD, included: "10", period: billing, over: bill_overage}
                default_caps:
                  - {id: monthly-spend, amount: "1000", period: billing}
            default_plan: pro
            """;

    /** Local state that never changes during the benchmark. */
    static final class Fixed<V> implements KeyedState<V> {
        final Map<String, Optional<V>> values = new HashMap<>();
        final Instant heard = Instant.now();

        public Optional<V> get(String key) {
            return values.getOrDefault(key, Optional.empty()); // wrapped once, as TopicView does
        }

        public boolean caughtUp() {
            return true;
        }

        public Instant lastHeard() {
            return heard;
        }
    }

    Enforcer enforcer;
    CheckRequest request;

    @Setup
    public void setUp() {
        Instant now = Instant.now();
        Fixed<PolicyRecord> policies = new Fixed<>();
        policies.values.put(Topics.POLICY_KEY, Optional.of(PolicyRecord.newBuilder().setName(Topics.POLICY_KEY).setVersion("1").setSource(POLICY).setAppliedAt(now).build()));
        Fixed<CustomerRecord> customers = new Fixed<>();
        Customer acme = Customer.unconfigured("acme", "pro");
        customers.values.put("acme", Optional.of(CustomerMapping.toRecord(acme.withCaps(List.of(new io.capstream.policy.limit.Cap("alice", null, new BigDecimal("50"),
                io.capstream.policy.limit.Measure.USD, new io.capstream.policy.limit.CapFilter(null, null, "alice", null),
                io.capstream.policy.limit.ResetSchedule.parse("daily"), Optional.of(ZoneId.of("Europe/Berlin")), false, false,
                io.capstream.policy.limit.Cap.DEFAULT_THRESHOLDS, io.capstream.policy.limit.LimitAction.BLOCK, false, Optional.empty()))), now)));
        Fixed<LimitUsage> usage = new Fixed<>();
        for (String limit : List.of("entitlement:chat", "cap:monthly-spend")) {
            Instant start = io.capstream.policy.limit.ResetSchedule.parse("billing").periodAt(now, ZoneId.of("UTC")).start();
            usage.values.put("acme|" + limit + "|" + start, Optional.of(LimitUsage.newBuilder().setCustomer("acme").setLimitId(limit).setKind("cap")
                    .setFeature(null).setPeriodStart(start).setPeriodEnd(start.plus(Duration.ofDays(28))).setQuantities(List.of())
                    .setCost(Decimals.money(BigDecimal.ZERO)).setEvents(1).setUpdatedAt(now).setUsed(Decimals.money(new BigDecimal("5.25"))).build()));
        }
        // pending estimates off (0 s): measures the decision itself, as a check whose usage already arrived
        enforcer = Enforcer.builder(customers, policies, usage).pendingFor(Duration.ZERO).stalenessBound(Duration.ofHours(1)).build();
        request = new CheckRequest("acme", "alice", "key_1", "chat", "gpt-4o",
                Map.of("input_tokens", new BigDecimal(1200), "output_tokens", new BigDecimal(400)), Optional.empty());
    }

    @Benchmark
    public Decision check() {
        return enforcer.check(request);
    }
}

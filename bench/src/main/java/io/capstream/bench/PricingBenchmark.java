package io.capstream.bench;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.catalogue.Pricing;
import java.math.BigDecimal;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.Warmup;

/** The exact pricing of one event (two token meters on a catalogue model): the per-event domain cost. */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class PricingBenchmark {
    final PolicyDocument policy = PolicyLoader.fromYaml("""
            models:
              gpt-4o: {prices: {input_tokens: "2.50/1M", output_tokens: "10.00/1M"}}
            """);
    final Map<String, BigDecimal> usage = Map.of("input_tokens", new BigDecimal("1200.000000000"), "output_tokens", new BigDecimal("350.000000000"));

    @Benchmark
    public BigDecimal priceOneEvent() {
        return Pricing.cost(policy, "gpt-4o", usage);
    }
}

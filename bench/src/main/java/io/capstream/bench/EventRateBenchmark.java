package io.capstream.bench;

import io.capstream.runtime.CustomerRateLimiter;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
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

/**
 * What ingest's per-customer event rate costs a full batch of 1000 events (ingest's {@code events.per.second}): the
 * events counted per customer and taken from each customer's bucket, for a batch of one customer and one of 1000.
 * A rate high enough that nothing is refused: the benchmark measures the bookkeeping, not refusals.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(1)
public class EventRateBenchmark {
    final CustomerRateLimiter limiter = new CustomerRateLimiter(100_000_000);
    final List<String> oneCustomer = Collections.nCopies(1000, "live_0");
    final List<String> thousandCustomers = new ArrayList<>();

    public EventRateBenchmark() {
        for (int i = 0; i < 1000; i++) {
            thousandCustomers.add("live_" + i);
        }
    }

    @Benchmark
    public void batchOfOneCustomer() {
        limiter.takeOrRefuse(oneCustomer, "events_rate_limited", "send", "");
    }

    @Benchmark
    public void batchOfThousandCustomers() {
        limiter.takeOrRefuse(thousandCustomers, "events_rate_limited", "send", "");
    }
}

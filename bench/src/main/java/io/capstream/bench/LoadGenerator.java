package io.capstream.bench;

import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.LockSupport;

/**
 * An HTTP load generator at a fixed request rate, meant to run in its own process. Each request has
 * a scheduled time and its latency is measured from it, so a server that falls behind shows it
 * (no coordinated omission within the workers' capacity). Prints one result line.
 *
 * <p>Usage: {@code LoadGenerator URL METHOD RATE_PER_S SECONDS BEARER_KEY [BODY]}
 */
public final class LoadGenerator {
    private LoadGenerator() {}

    public static void main(String[] args) throws Exception {
        URI uri = URI.create(args[0]);
        String method = args[1];
        int rate = Integer.parseInt(args[2]);
        int seconds = Integer.parseInt(args[3]);
        String key = args[4];
        String body = args.length > 5 ? args[5] : "";
        HttpClient http = HttpClient.newBuilder().version(HttpClient.Version.HTTP_1_1).connectTimeout(Duration.ofSeconds(2)).build();
        HttpRequest request = HttpRequest.newBuilder(uri).timeout(Duration.ofSeconds(5))
                .header("Authorization", "Bearer " + key).header("Content-Type", "application/json")
                .method(method, body.isEmpty() ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body)).build();

        // warm-up: a second at the target rate, not measured
        run(http, request, rate, 1, null);
        int total = rate * seconds;
        long[] latencies = new long[total];
        Result result = run(http, request, rate, seconds, latencies);
        Arrays.sort(latencies, 0, result.completed);
        System.out.printf(Locale.ROOT, "RESULT sent=%d completed=%d errors=%d achieved_rate=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f%n",
                total, result.completed, result.errors, result.completed / (result.elapsedNanos / 1e9),
                pct(latencies, result.completed, 0.50), pct(latencies, result.completed, 0.99), pct(latencies, result.completed, 0.999),
                result.completed == 0 ? 0 : latencies[result.completed - 1] / 1e6);
    }

    private record Result(int completed, int errors, long elapsedNanos) {}

    private static final int WORKERS = 32;

    /**
     * {@value #WORKERS} workers, each with its own share of the schedule: worker {@code w} sends
     * request {@code i} (i ≡ w mod workers) at {@code start + i / rate}, or at once if it is behind,
     * and the latency counts from the scheduled time — a late start is part of the latency.
     */
    private static Result run(HttpClient http, HttpRequest request, int rate, int seconds, long[] latencies) throws InterruptedException {
        int total = rate * seconds;
        long interval = 1_000_000_000L / rate;
        AtomicInteger completed = new AtomicInteger();
        AtomicInteger errors = new AtomicInteger();
        AtomicLong lastEnd = new AtomicLong();
        long start = System.nanoTime() + 10_000_000L;
        Thread[] workers = new Thread[WORKERS];
        for (int w = 0; w < WORKERS; w++) {
            int worker = w;
            workers[w] = Thread.ofPlatform().start(() -> {
                for (int i = worker; i < total; i += WORKERS) {
                    long scheduled = start + i * interval;
                    long wait = scheduled - System.nanoTime();
                    if (wait > 0) {
                        LockSupport.parkNanos(wait);
                    }
                    try {
                        HttpResponse<Void> response = http.send(request, HttpResponse.BodyHandlers.discarding());
                        long end = System.nanoTime();
                        if (response.statusCode() >= 500) {
                            errors.incrementAndGet();
                        } else {
                            int slot = completed.getAndIncrement();
                            if (latencies != null && slot < latencies.length) {
                                latencies[slot] = end - scheduled;
                            }
                        }
                        lastEnd.accumulateAndGet(end, Math::max);
                    } catch (Exception e) {
                        errors.incrementAndGet();
                    }
                }
            });
        }
        for (Thread t : workers) {
            t.join();
        }
        return new Result(Math.min(completed.get(), latencies == null ? completed.get() : latencies.length), errors.get(), lastEnd.get() - start);
    }

    private static double pct(long[] sorted, int n, double p) {
        return n == 0 ? 0 : sorted[Math.min(n - 1, (int) Math.ceil(p * n) - 1)] / 1e6;
    }
}

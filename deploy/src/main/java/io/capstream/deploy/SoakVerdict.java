package io.capstream.deploy;

import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Whether a soak run passed: memory and consumer lag flat, totals exact. The first third of the samples
 * is warm-up (JIT, RocksDB's block cache and memtables filling) and is not judged; the last third is
 * compared with the middle one.
 * <ul>
 *   <li>Heap after GC, per service: the last third's mean at most 10 % + 16 MiB above the middle third's.
 *       A leak of a few bytes per event shows as steady growth across the run.</li>
 *   <li>Consumer lag, per group: the last third's highest at most twice the middle third's highest, or
 *       under one second of offered traffic (a lag that small is noise, not a trend).</li>
 * </ul>
 */
record SoakVerdict(boolean passed, List<String> findings) {
    static final int MIN_SAMPLES = 3;
    private static final double HEAP_GROWTH = 0.10;
    private static final long HEAP_SLACK_BYTES = 16L << 20;

    /**
     * @param heapAfterGc bytes per sample, by service
     * @param lag records behind per sample, by consumer group
     * @param ratePerSecond the offered rate, events per second
     * @param exact whether every accepted event was booked exactly once
     */
    static SoakVerdict of(Map<String, long[]> heapAfterGc, Map<String, long[]> lag, int ratePerSecond, boolean exact) {
        List<String> findings = new ArrayList<>();
        boolean passed = exact;
        findings.add(exact ? "totals exact" : "totals NOT exact");
        int samples = heapAfterGc.values().stream().mapToInt(s -> s.length).max()
                .orElse(lag.values().stream().mapToInt(s -> s.length).max().orElse(0));
        if (samples < MIN_SAMPLES) {
            findings.add("too few samples (" + samples + ") to judge memory and lag: run longer");
            return new SoakVerdict(false, findings);
        }
        for (Map.Entry<String, long[]> e : heapAfterGc.entrySet()) {
            double middle = mean(middleThird(e.getValue()));
            double last = mean(lastThird(e.getValue()));
            boolean flat = last <= middle * (1 + HEAP_GROWTH) + HEAP_SLACK_BYTES;
            passed &= flat;
            findings.add(String.format(Locale.ROOT, "%s heap after GC %s: %.0f MiB → %.0f MiB", e.getKey(), flat ? "flat" : "GROWING",
                    middle / (1 << 20), last / (1 << 20)));
        }
        if (lag.isEmpty()) {
            findings.add("no consumer group read Capstream's topics: lag cannot be judged");
            passed = false;
        }
        for (Map.Entry<String, long[]> e : lag.entrySet()) {
            long middle = max(middleThird(e.getValue()));
            long last = max(lastThird(e.getValue()));
            boolean flat = last <= Math.max(2 * middle, ratePerSecond);
            passed &= flat;
            findings.add(String.format(Locale.ROOT, "%s lag %s: highest %d → %d records", e.getKey(), flat ? "flat" : "GROWING", middle, last));
        }
        return new SoakVerdict(passed, findings);
    }

    private static long[] middleThird(long[] s) {
        return java.util.Arrays.copyOfRange(s, s.length / 3, s.length - s.length / 3);
    }

    private static long[] lastThird(long[] s) {
        return java.util.Arrays.copyOfRange(s, s.length - Math.max(1, s.length / 3), s.length);
    }

    private static double mean(long[] s) {
        return java.util.Arrays.stream(s).average().orElse(0);
    }

    private static long max(long[] s) {
        return java.util.Arrays.stream(s).max().orElse(0);
    }
}

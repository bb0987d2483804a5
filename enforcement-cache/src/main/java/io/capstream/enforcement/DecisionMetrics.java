package io.capstream.enforcement;

import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.decision.Decision;
import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.EnumMap;
import java.util.Map;
import java.util.function.Supplier;

/**
 * The sidecar's decisions as metrics: {@code capstream_enforcement_decisions_total{code, degraded}} (every
 * check, counted by counters made once, so the hot path allocates nothing) and
 * {@code capstream_enforcement_state_age_seconds}, how long since the pushed totals were last heard from.
 */
final class DecisionMetrics implements Enforcer.Listener {
    private final Map<Decision.Code, Counter> decided = new EnumMap<>(Decision.Code.class);
    private final Map<Decision.Code, Counter> degraded = new EnumMap<>(Decision.Code.class);

    DecisionMetrics(MeterRegistry metrics, Supplier<Instant> lastHeard, Clock clock) {
        for (Decision.Code code : Decision.Code.values()) {
            decided.put(code, counter(metrics, code, false));
            degraded.put(code, counter(metrics, code, true));
        }
        Gauge.builder("capstream.enforcement.state.age", () -> Duration.between(lastHeard.get(), clock.instant()).toMillis() / 1000.0)
                .description("Seconds since the usage totals were last heard from (staleness)").baseUnit("seconds").register(metrics);
    }

    private static Counter counter(MeterRegistry metrics, Decision.Code code, boolean degraded) {
        return Counter.builder("capstream.enforcement.decisions").description("Checks answered, by code and whether degraded")
                .tag("code", code.wire()).tag("degraded", Boolean.toString(degraded)).register(metrics);
    }

    @Override
    public void decided(CheckRequest request, Decision decision, Instant at) {
        (decision.degraded() ? degraded : decided).get(decision.code()).increment();
    }
}

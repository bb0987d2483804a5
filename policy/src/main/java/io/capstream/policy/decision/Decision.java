package io.capstream.policy.decision;

import java.time.Duration;
import java.time.OffsetDateTime;
import java.util.List;
import java.util.Optional;

/**
 * The answer to a {@link CheckRequest}, as a value (DESIGN 4.5). A refusal names the limit, the used
 * amount, the limit, the reset time in the limit's timezone and the way out, in a sentence and in
 * fields; a downgrade names the model to call; warnings list the limits at 80 % or more.
 */
public record Decision(Outcome outcome, Code code, String message, Optional<LimitInfo> limit,
                       Optional<String> model, List<LimitInfo> warnings, Optional<Duration> retryAfter, boolean degraded,
                       Optional<String> reservationId, Optional<RateLimit> rateLimit) {
    public enum Outcome { ALLOW, WARN, DOWNGRADE, REFUSE }

    /**
     * What was decided, as the API names it ({@link #wire}). A transport maps codes to its own statuses
     * (the sidecar: 402 for a limit, 429 when it only slows requests down, 403, 503, …).
     */
    public enum Code {
        ALLOW, WARN, DOWNGRADE,
        CUSTOMER_DISABLED, MODEL_NOT_ALLOWED, KEY_RATE_LIMITED,
        SPEND_CAP_REACHED, PLAN_ALLOWANCE_EXHAUSTED, BALANCE_TOO_LOW,
        USAGE_STATE_UNAVAILABLE, INVALID_REQUEST,
        /** A runaway circuit breaker is open (429 with Retry-After). */
        CIRCUIT_OPEN;

        /** The code as the API writes it: {@code spend_cap_reached}. */
        public String wire() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }

        /** Whether this code refuses because a limit is used up (spend, allowance, balance). */
        public boolean isLimit() {
            return this == SPEND_CAP_REACHED || this == PLAN_ALLOWANCE_EXHAUSTED || this == BALANCE_TOO_LOW;
        }
    }

    /** A limit as a decision reports it. */
    public record LimitInfo(String id, String label, String measure, String used, String limit, String percent,
                            OffsetDateTime resetsAt, String timezone, Optional<String> raiseCapUrl, Optional<String> upgradeUrl, Optional<String> topUpUrl) {}

    public Decision {
        warnings = List.copyOf(warnings);
    }

    /** The burst limit that refused a request: its name, requests allowed per window, and when one is free again. */
    public record RateLimit(String policy, int quota, Duration window, Duration reset) {}

    public Decision(Outcome outcome, Code code, String message, Optional<LimitInfo> limit, Optional<String> model,
                    List<LimitInfo> warnings, Optional<Duration> retryAfter, boolean degraded) {
        this(outcome, code, message, limit, model, warnings, retryAfter, degraded, Optional.empty(), Optional.empty());
    }

    /** This decision, holding a strict-mode reservation: the usage event should carry its id. */
    public Decision withReservation(String id) {
        return new Decision(outcome, code, message, limit, model, warnings, retryAfter, degraded, Optional.of(id), rateLimit);
    }

    /** This decision, naming the burst limit behind it (for RateLimit headers). */
    public Decision withRateLimit(RateLimit limit) {
        return new Decision(outcome, code, message, this.limit, model, warnings, retryAfter, degraded, reservationId, Optional.of(limit));
    }

    private static final Decision ALLOWED = new Decision(Outcome.ALLOW, Code.ALLOW, "allowed", Optional.empty(), Optional.empty(), List.of(),
            Optional.empty(), false);

    public static Decision allowed(List<LimitInfo> warnings) {
        return warnings.isEmpty()
                ? ALLOWED // the common answer, shared: a decision is a value
                : new Decision(Outcome.WARN, Code.WARN, "allowed; " + warnings.size() + " limit(s) at 80 % or more",
                        Optional.empty(), Optional.empty(), warnings, Optional.empty(), false);
    }

    public static Decision downgraded(String model, String message, Optional<LimitInfo> limit, List<LimitInfo> warnings) {
        return new Decision(Outcome.DOWNGRADE, Code.DOWNGRADE, message, limit, Optional.of(model), warnings, Optional.empty(), false);
    }

    /** A refusal; with {@code retryAfter}, a limit's refusal only slows requests down (throttle). */
    public static Decision refused(Code code, String message, Optional<LimitInfo> limit, Optional<Duration> retryAfter) {
        return new Decision(Outcome.REFUSE, code, message, limit, Optional.empty(), List.of(), retryAfter, false);
    }

    /** Whether a limit refused only to slow requests down (a throttling limit), to be retried after {@link #retryAfter}. */
    public boolean throttles() {
        return outcome == Outcome.REFUSE && code.isLimit() && retryAfter.isPresent();
    }

    public boolean allowsRequest() {
        return outcome != Outcome.REFUSE;
    }

    public Decision asDegraded() {
        return new Decision(outcome, code, message + " (usage state is stale: decided from the last known state)",
                limit, model, warnings, retryAfter, true, reservationId, rateLimit);
    }

    /** A wait in whole seconds as {@code Retry-After} and the messages state it: rounded up, at least 1. */
    public static long retryAfterSeconds(java.time.Duration wait) {
        return Math.max(1, (wait.toMillis() + 999) / 1000);
    }
}

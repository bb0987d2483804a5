package io.capstream.policy.runaway;

import io.capstream.policy.decision.Decision;
import io.capstream.policy.decision.Wording;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.LimitState;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.time.Instant;
import java.time.ZoneId;
import java.util.Optional;

/**
 * An open runaway circuit breaker ({@link RunawayRule}): the customer's, or one of its API keys'. It
 * closes by itself at {@code closesAt}, or earlier when it is reset (control API).
 *
 * @param rate     USD per minute when it tripped (the mean over the sustained minutes)
 * @param baseline the scope's usual USD per minute for that local hour
 * @param tripRate the rate above which spend counted as runaway
 */
public record Breaker(String customer, Optional<String> apiKey, LimitAction action, BigDecimal rate, BigDecimal baseline,
                      BigDecimal tripRate, Instant openedAt, Instant closesAt, ZoneId timezone) {
    public static final String LIMIT_ID = "runaway";
    public static final String LABEL = "Runaway spend protection";
    public static final String MEASURE = Wording.RATE;

    public boolean openAt(Instant now) {
        return now.isBefore(closesAt);
    }

    /** Whether it applies to a request made with {@code apiKey} (a customer's breaker applies to every key). */
    public boolean covers(String requestApiKey) {
        return apiKey.isEmpty() || apiKey.get().equals(requestApiKey);
    }

    /** The limit id it is reported under: {@code runaway}, or {@code runaway:key:<key>}. */
    public String limitId() {
        return apiKey.map(k -> LIMIT_ID + ":key:" + k).orElse(LIMIT_ID);
    }

    /** What tripped, in a sentence: whose spend, how fast, against what. */
    public String cause() {
        String whose = apiKey.map(k -> "API key " + k + " of " + customer).orElse(customer);
        return "Spend of " + whose + " ran at " + perMinute(rate) + " a minute, " + times() + " times its usual " + perMinute(baseline)
                + " a minute for this hour (it trips above " + perMinute(tripRate) + ").";
    }

    /** How the way out reads: when it closes by itself, and how to close it now. */
    public String wayOut() {
        return "It closes by itself on " + Wording.when(closesAt, timezone) + ", or now with POST /v1/customers/" + customer + "/runaway/reset.";
    }

    /**
     * The refusal of a request while it is open (429 {@code circuit_open}, retry when it closes): for
     * {@link LimitAction#BLOCK} every billable request, for {@link LimitAction#THROTTLE} the requests beyond
     * the baseline rate ({@code retryIn}: until the next minute).
     */
    public Decision refusal(Instant now, Optional<Duration> retryIn) {
        Duration wait = retryIn.orElse(Duration.between(now, closesAt));
        String what = action == LimitAction.THROTTLE
                ? "Requests are held to its usual " + perMinute(baseline) + " a minute (runaway protection). "
                : "Billable requests are paused (runaway protection). ";
        return Decision.refused(Decision.Code.CIRCUIT_OPEN, cause() + " " + what + wayOut(), Optional.of(info()), Optional.of(wait));
    }

    /** As a limit in a decision: used = the rate, limit = the trip rate, resets when it closes. */
    public Decision.LimitInfo info() {
        return new Decision.LimitInfo(limitId(), LABEL, MEASURE, Decimals.formatMoney(rate), Decimals.formatMoney(tripRate),
                LimitState.percent(rate, tripRate).toPlainString(), closesAt.atZone(timezone).toOffsetDateTime(), timezone.getId(),
                Optional.empty(), Optional.empty(), Optional.empty());
    }

    private String times() {
        return rate.divide(baseline, 1, RoundingMode.HALF_UP).stripTrailingZeros().toPlainString();
    }

    private static String perMinute(BigDecimal usd) {
        return "$" + usd.setScale(2, RoundingMode.HALF_UP).toPlainString();
    }
}

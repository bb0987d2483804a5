package io.capstream.policy.runaway;

import io.capstream.policy.limit.LimitAction;
import java.math.BigDecimal;
import java.math.RoundingMode;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;

/**
 * A plan's runaway circuit breaker (policy {@code plans.<plan>.runaway}): a customer's, or one of its API
 * keys', spend rate far above its own baseline is usually a bug or a leaked key, not demand.
 *
 * <p>The <b>baseline</b> of a scope (the customer, or one key) for the current local hour is the p95
 * (nearest rank) of its spend per minute in the same local hour on each of the last
 * {@value #BASELINE_DAYS} days (a day without usage counts as zero), and never below {@code floor}.
 * The breaker <b>trips</b> when spend in each of the last {@code sustain} minutes (the current one
 * included) is above the trip rate: {@code factor × baseline}, or {@code absolute} when that is lower.
 * Then {@code action} applies until {@code coolDown} has passed or it is reset.
 *
 * @param factor   how many times the baseline a rate must be to count as runaway (more than 1)
 * @param floor    the least baseline, USD per minute (a new customer has no history)
 * @param absolute a rate that trips whatever the baseline, USD per minute
 * @param sustain  for how many whole minutes the rate must hold (the current minute is the last)
 * @param action   {@link LimitAction#BLOCK}: every billable request is refused while open;
 *                 {@link LimitAction#THROTTLE}: requests go on at up to the baseline rate;
 *                 {@link LimitAction#NOTIFY}: requests go on, the trip is notified
 * @param coolDown after this the breaker closes by itself
 */
public record RunawayRule(BigDecimal factor, BigDecimal floor, Optional<BigDecimal> absolute, Duration sustain, LimitAction action,
                          Duration coolDown) {
    public static final int BASELINE_DAYS = 7;
    public static final BigDecimal DEFAULT_FACTOR = BigDecimal.TEN;
    public static final BigDecimal DEFAULT_FLOOR = new BigDecimal("0.10");
    public static final Duration DEFAULT_SUSTAIN = Duration.ofMinutes(2);
    public static final Duration DEFAULT_COOL_DOWN = Duration.ofMinutes(15);
    /** What {@code action} may say. */
    public static final List<LimitAction> ACTIONS = List.of(LimitAction.BLOCK, LimitAction.THROTTLE, LimitAction.NOTIFY);
    /** Every field at its default. */
    public static final RunawayRule DEFAULT = new RunawayRule(DEFAULT_FACTOR, DEFAULT_FLOOR, Optional.empty(), DEFAULT_SUSTAIN, LimitAction.BLOCK,
            DEFAULT_COOL_DOWN);
    private static final BigDecimal MINUTES_PER_HOUR = BigDecimal.valueOf(60);
    private static final int RATE_SCALE = 6;

    public RunawayRule {
        if (factor.compareTo(BigDecimal.ONE) <= 0 || floor.signum() <= 0 || sustain.toMinutes() < 1 || coolDown.toMinutes() < 1
                || !ACTIONS.contains(action)) {
            throw new IllegalArgumentException("a runaway rule needs a factor above 1, a positive floor, whole minutes and one of " + ACTIONS);
        }
    }

    /** The same rule for a trusted customer ({@code no_hard_caps}): it trips and notifies, nothing is refused. */
    public RunawayRule notifyOnly() {
        return new RunawayRule(factor, floor, absolute, sustain, LimitAction.NOTIFY, coolDown);
    }

    /**
     * The baseline in USD per minute: the p95 (nearest rank) of the spend per minute of the same local hour
     * on each of the last {@value #BASELINE_DAYS} days ({@code sameHourSpends}, USD per hour; missing days
     * are zero), at least {@code floor}.
     */
    public BigDecimal baseline(List<BigDecimal> sameHourSpends) {
        List<BigDecimal> perMinute = new ArrayList<>(BASELINE_DAYS);
        for (int i = 0; i < BASELINE_DAYS; i++) {
            BigDecimal hour = i < sameHourSpends.size() ? sameHourSpends.get(i) : BigDecimal.ZERO;
            perMinute.add(hour.divide(MINUTES_PER_HOUR, RATE_SCALE, RoundingMode.HALF_EVEN));
        }
        perMinute.sort(null);
        int rank = (int) Math.ceil(0.95 * perMinute.size()); // nearest rank: of 7 days, the highest
        BigDecimal p95 = perMinute.get(rank - 1);
        return p95.max(floor);
    }

    /** The rate above which spend counts as runaway, USD per minute: {@code factor × baseline}, or {@code absolute} if lower. */
    public BigDecimal tripRate(BigDecimal baseline) {
        BigDecimal relative = factor.multiply(baseline);
        return absolute.map(relative::min).orElse(relative);
    }

    /** How many minutes the rate must hold. */
    public int sustainMinutes() {
        return (int) sustain.toMinutes();
    }
}

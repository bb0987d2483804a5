package io.capstream.policy.catalogue;

import io.capstream.policy.input.Decimals;
import io.capstream.policy.input.FixedPoint;

import java.math.BigDecimal;
import java.util.Map;

/**
 * The exact cost of one event's usage (DESIGN 3 and 4.2 step 1): the sum over its meters of
 * quantity × price, where a meter is priced by the event's model if the model prices it, and
 * otherwise by the policy's meter list.
 */
public final class Pricing {
    private Pricing() {}

    /**
     * @param model the model the usage was on, or {@code null} when the event names none
     * @param usage quantities per meter
     * @return the cost in USD, exact, with at most {@link Decimals#MONEY_SCALE} decimals
     * @throws UnpriceableUsageException when the model is unknown or a meter has no price
     */
    public static BigDecimal cost(PolicyDocument policy, String model, Map<String, BigDecimal> usage) {
        Model priced = model(policy, model);
        BigDecimal cost = BigDecimal.ZERO;
        for (Map.Entry<String, BigDecimal> entry : usage.entrySet()) {
            BigDecimal part = exact(entry.getKey(), priceOf(policy, priced, entry.getKey()).times(entry.getValue()));
            cost = cost.signum() == 0 ? part : cost.add(part);
        }
        return cost;
    }

    /**
     * {@link #cost} in {@link FixedPoint} units without allocating, when every quantity is a whole number
     * and every part fits; otherwise {@link FixedPoint#NONE} (then price with {@link #cost}). Also NONE
     * where {@link #cost} would throw.
     */
    public static long costFixed(PolicyDocument policy, String model, Map<String, BigDecimal> usage) {
        Model priced = model == null ? null : policy.models().get(model);
        if (model != null && priced == null) {
            return FixedPoint.NONE;
        }
        long cost = 0;
        for (Map.Entry<String, BigDecimal> entry : usage.entrySet()) {
            UnitPrice price = priced == null ? null : priced.prices().get(entry.getKey());
            if (price == null) {
                Meter meter = policy.meters().get(entry.getKey());
                if (meter == null) {
                    return FixedPoint.NONE;
                }
                price = meter.price();
            }
            long units = FixedPoint.whole(entry.getValue());
            cost = FixedPoint.plus(cost, units < 0 ? FixedPoint.NONE : FixedPoint.times(price.perUnitFixed(), units));
            if (cost == FixedPoint.NONE) {
                return FixedPoint.NONE;
            }
        }
        return cost;
    }

    /**
     * Whether {@link #cost} would price this usage, without pricing it where the digits cannot be too
     * fine (the price's and the quantity's decimals together within {@link Decimals#MONEY_SCALE}): the
     * check every request passes before it is decided.
     *
     * @throws UnpriceableUsageException as {@link #cost} does
     */
    public static void check(PolicyDocument policy, String model, Map<String, BigDecimal> usage) {
        Model priced = model(policy, model);
        for (Map.Entry<String, BigDecimal> entry : usage.entrySet()) {
            UnitPrice price = priceOf(policy, priced, entry.getKey());
            if (price.perUnit().scale() + entry.getValue().scale() > Decimals.MONEY_SCALE) {
                exact(entry.getKey(), price.times(entry.getValue()));
            }
        }
    }

    private static Model model(PolicyDocument policy, String model) {
        if (model == null) {
            return null;
        }
        return policy.model(model).orElseThrow(() ->
                new UnpriceableUsageException("model", "unknown model '" + model + "'; known: " + policy.models().keySet()));
    }

    /** A meter's part of a cost, refused when it is finer than money is kept with. */
    private static BigDecimal exact(String meter, BigDecimal part) {
        if (part.scale() > Decimals.MONEY_SCALE && part.signum() != 0 && part.stripTrailingZeros().scale() > Decimals.MONEY_SCALE) {
            throw new UnpriceableUsageException("usage." + meter, "costs " + part.toPlainString() + " USD, finer than the "
                    + Decimals.MONEY_SCALE + " decimals money is kept with; send fewer digits after the point");
        }
        return part;
    }

    private static UnitPrice priceOf(PolicyDocument policy, Model model, String meter) {
        if (model != null && model.prices().containsKey(meter)) {
            return model.prices().get(meter);
        }
        return policy.meter(meter).map(Meter::price).orElseThrow(() -> new UnpriceableUsageException(
                "usage." + meter,
                "no price for meter '" + meter + "'" + (model == null ? "" : " on model '" + model.name() + "'")));
    }
}

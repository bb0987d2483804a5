package io.capstream.policy.catalogue;

import io.capstream.policy.input.Decimals;

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
        Model priced = null;
        if (model != null) {
            priced = policy.model(model).orElseThrow(() ->
                    new UnpriceableUsageException("model", "unknown model '" + model + "'; known: " + policy.models().keySet()));
        }
        BigDecimal cost = BigDecimal.ZERO;
        for (Map.Entry<String, BigDecimal> entry : usage.entrySet()) {
            BigDecimal part = priceOf(policy, priced, entry.getKey()).times(entry.getValue());
            if (part.scale() > Decimals.MONEY_SCALE && part.signum() != 0 && part.stripTrailingZeros().scale() > Decimals.MONEY_SCALE) {
                throw new UnpriceableUsageException("usage." + entry.getKey(), "costs " + part.toPlainString() + " USD, finer than the "
                        + Decimals.MONEY_SCALE + " decimals money is kept with; send fewer digits after the point");
            }
            cost = cost.signum() == 0 ? part : cost.add(part);
        }
        return cost;
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

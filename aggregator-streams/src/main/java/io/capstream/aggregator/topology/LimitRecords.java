package io.capstream.aggregator.topology;

import io.capstream.policy.booking.Booking.Total;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.limit.Period;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.Quantity;
import java.math.BigDecimal;
import java.time.ZoneId;

/** The running totals of {@link io.capstream.policy.booking.Booking} as the {@link LimitUsage} records the limits store and usage-aggregates hold. */
final class LimitRecords {
    private LimitRecords() {}

    static Total toTotal(LimitUsage r) {
        return new Total(r.getLimitId(), r.getKind(), r.getFeature(), r.getMeasure(), new Period(r.getPeriodStart(), r.getPeriodEnd()),
                ZoneId.of(r.getTimezone()), r.getLimit(), r.getUsed(), r.getCost(), r.getIncluded(), r.getGrantCovered(), r.getBilled(),
                r.getEvents(), r.getUpdatedAt(), r.getThresholdsCrossed().stream().map(BigDecimal::new).toList(),
                r.getQuantities().stream().map(q -> new Total.Quantity(q.getMeter(), q.getModel(), q.getQuantity())).toList());
    }

    /** The record of a total, every amount at its wire scale (fails rather than rounds). */
    static LimitUsage toRecord(String customer, Total t) {
        return LimitUsage.newBuilder()
                .setCustomer(customer).setLimitId(t.limitId()).setKind(t.kind()).setFeature(t.feature())
                .setPeriodStart(t.period().start()).setPeriodEnd(t.period().end()).setTimezone(t.zone().getId()).setMeasure(t.measure())
                .setQuantities(t.quantities().stream().map(q -> new Quantity(q.meter(), q.model(), Decimals.quantity(q.amount()))).toList())
                .setCost(Decimals.money(t.cost())).setUsed(Decimals.money(t.used())).setLimit(Decimals.money(t.limit()))
                .setIncluded(Decimals.money(t.included())).setGrantCovered(Decimals.money(t.grantCovered())).setBilled(Decimals.money(t.billed()))
                .setEvents(t.events()).setUpdatedAt(t.updatedAt())
                .setThresholdsCrossed(t.crossed().stream().map(BigDecimal::toPlainString).toList())
                .build();
    }

    /** Whether every amount fits its wire type: {@code decimal(38, 18)}, quantities {@code decimal(38, 9)}. */
    static String misfit(Total t) {
        for (BigDecimal amount : java.util.List.of(t.used(), t.cost(), t.included(), t.grantCovered(), t.billed(), t.limit())) {
            if (!Decimals.fitsTotal(amount)) {
                return t.limitId();
            }
        }
        for (Total.Quantity q : t.quantities()) {
            if (q.amount().precision() - q.amount().scale() > 38 - Decimals.QUANTITY_SCALE) {
                return t.limitId() + " (" + q.meter() + ")";
            }
        }
        return null;
    }
}

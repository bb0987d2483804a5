package io.capstream.aggregator.topology;

import io.capstream.policy.Decimals;
import io.capstream.policy.Period;
import io.capstream.policy.Thresholds;
import io.capstream.schemas.LimitUsage;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;

/** Building and updating the {@link LimitUsage} records kept in the limits store and emitted to usage-aggregates. */
final class LimitRecords {
    static final String FEATURE = "feature";
    static final String ENTITLEMENT = "entitlement";
    static final String CAP = "cap";
    static final String GRANT = "grant";
    private static final BigDecimal ZERO = Decimals.money(BigDecimal.ZERO);

    private LimitRecords() {}

    static LimitUsage empty(String customer, String limitId, String kind, String feature, Period period, ZoneId zone, String measure) {
        return LimitUsage.newBuilder()
                .setCustomer(customer).setLimitId(limitId).setKind(kind).setFeature(feature)
                .setPeriodStart(period.start()).setPeriodEnd(period.end()).setTimezone(zone.getId()).setMeasure(measure)
                .setQuantities(List.of()).setCost(ZERO).setUsed(ZERO).setIncluded(ZERO).setGrantCovered(ZERO).setBilled(ZERO)
                .setEvents(0).setUpdatedAt(Instant.EPOCH).setThresholdsCrossed(List.of())
                .build();
    }

    static List<BigDecimal> crossed(LimitUsage r) {
        return r.getThresholdsCrossed().stream().map(BigDecimal::new).toList();
    }

    /**
     * Applies the limit in force and adds {@code amount} to what the limit counted; thresholds no
     * longer reached under a raised limit re-arm first.
     *
     * @return the thresholds this update crossed, lowest first
     */
    static List<BigDecimal> count(LimitUsage r, BigDecimal limit, List<BigDecimal> thresholds, BigDecimal amount) {
        List<BigDecimal> crossed = new ArrayList<>(Thresholds.stillCrossed(r.getUsed(), limit, crossed(r)));
        BigDecimal used = r.getUsed().add(amount);
        List<BigDecimal> newly = Thresholds.newlyCrossed(used, limit, thresholds, crossed);
        crossed.addAll(newly);
        r.setUsed(Decimals.money(used));
        r.setLimit(Decimals.money(limit));
        r.setThresholdsCrossed(crossed.stream().sorted().map(BigDecimal::toPlainString).toList());
        return newly;
    }
}

package io.capstream.aggregator.query;

import io.capstream.policy.Decimals;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.Quantity;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.Comparator;
import java.util.List;

/** What {@code GET /v1/customers/{id}/usage} answers: DTOs with money as decimal strings, never Avro objects. */
public record UsageView(String customer, PeriodView period, List<FeatureView> features, String totalCost, boolean stale) {
    public record PeriodView(Instant start, Instant end, Instant resetsAt) {}

    public record FeatureView(String feature, String cost, long events, List<QuantityView> quantities) {}

    public record QuantityView(String meter, String model, String quantity) {}

    static UsageView of(String customer, Instant start, Instant end, List<LimitUsage> totals, boolean stale) {
        List<FeatureView> features = totals.stream()
                .sorted(Comparator.comparing(LimitUsage::getLimitId))
                .map(t -> new FeatureView(t.getFeature(), Decimals.formatMoney(t.getCost()), t.getEvents(),
                        t.getQuantities().stream()
                                .sorted(Comparator.comparing(Quantity::getMeter).thenComparing(q -> q.getModel() == null ? "" : q.getModel()))
                                .map(q -> new QuantityView(q.getMeter(), q.getModel(), Decimals.formatQuantity(q.getQuantity())))
                                .toList()))
                .toList();
        BigDecimal total = totals.stream().map(LimitUsage::getCost).reduce(BigDecimal.ZERO, BigDecimal::add);
        return new UsageView(customer, new PeriodView(start, end, end), features, Decimals.formatMoney(total), stale);
    }
}

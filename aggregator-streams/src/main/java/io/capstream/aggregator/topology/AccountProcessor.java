package io.capstream.aggregator.topology;

import io.capstream.policy.Decimals;
import io.capstream.policy.ResetSchedule;
import io.capstream.policy.Period;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Adds each unique priced event to its customer × feature × period running total and emits the new
 * total. The period comes from the event time, so a new period simply starts at zero.
 */
final class AccountProcessor extends ContextualProcessor<String, PricedEvent, String, LimitUsage> {
    private final String storeName;
    private final ResetSchedule schedule;
    private KeyValueStore<String, LimitUsage> totals;

    AccountProcessor(String storeName, ResetSchedule schedule) {
        this.storeName = storeName;
        this.schedule = schedule;
    }

    @Override
    public void init(ProcessorContext<String, LimitUsage> context) {
        super.init(context);
        totals = context.getStateStore(storeName);
    }

    @Override
    public void process(Record<String, PricedEvent> record) {
        UsageEvent event = record.value().event();
        Period period = schedule.periodAt(event.getTime(), java.time.ZoneOffset.UTC);
        String limitId = UsageKeys.featureLimit(event.getFeature());
        String key = UsageKeys.key(event.getCustomer(), limitId, period.start());
        LimitUsage current = totals.get(key);
        LimitUsage next = current == null ? empty(event, limitId, period) : LimitUsage.newBuilder(current).build();
        next.setQuantities(add(next.getQuantities(), event));
        next.setCost(Decimals.money(next.getCost().add(record.value().cost())));
        next.setEvents(next.getEvents() + 1);
        if (event.getTime().isAfter(next.getUpdatedAt())) {
            next.setUpdatedAt(event.getTime());
        }
        totals.put(key, next);
        context().forward(record.withKey(key).withValue(next));
    }

    private static LimitUsage empty(UsageEvent event, String limitId, Period period) {
        return LimitUsage.newBuilder()
                .setCustomer(event.getCustomer()).setLimitId(limitId).setFeature(event.getFeature())
                .setPeriodStart(period.start()).setPeriodEnd(period.end())
                .setQuantities(List.of()).setCost(Decimals.money(java.math.BigDecimal.ZERO)).setEvents(0)
                .setUpdatedAt(Instant.EPOCH)
                .build();
    }

    private static List<Quantity> add(List<Quantity> totals, UsageEvent event) {
        List<Quantity> result = new ArrayList<>(totals.size() + event.getUsage().size());
        for (Quantity q : totals) {
            result.add(Quantity.newBuilder(q).build());
        }
        for (Quantity q : event.getUsage()) {
            Quantity match = null;
            for (Quantity t : result) {
                if (t.getMeter().equals(q.getMeter()) && Objects.equals(t.getModel(), event.getModel())) {
                    match = t;
                    break;
                }
            }
            if (match == null) {
                result.add(new Quantity(q.getMeter(), event.getModel(), q.getQuantity()));
            } else {
                match.setQuantity(Decimals.quantity(match.getQuantity().add(q.getQuantity())));
            }
        }
        return result;
    }
}

package io.capstream.aggregator.topology;

import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.catalogue.UnpriceableUsageException;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.function.Supplier;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;

/**
 * Refuses events outside the late window (measured against the record timestamp, the time ingest
 * received the event, so a replay decides the same way) and prices the rest with the policy.
 */
final class PriceProcessor extends ContextualProcessor<String, UsageEvent, String, PricedEvent> {
    private final EventTimeWindow window;
    private Supplier<PolicyDocument> policy;

    private final PolicyCache policies;

    PriceProcessor(EventTimeWindow window, PolicyCache policies) {
        this.window = window;
        this.policies = policies;
    }

    @Override
    public void init(ProcessorContext<String, PricedEvent> context) {
        super.init(context);
        policy = policies.reading(context.getStateStore(UsageTopology.POLICY_STORE));
    }

    @Override
    public void process(Record<String, UsageEvent> record) {
        UsageEvent event = record.value();
        if (event == null) {
            throw new RejectedEventException("value", "a usage event is required (the record has no value)");
        }
        window.rejection(event.getTime(), Instant.ofEpochMilli(record.timestamp()))
                .ifPresent(reason -> { throw new RejectedEventException("time", reason); });
        String amendment = event.getAmendment();
        if ("void".equals(amendment)) { // takes back what the event was booked at: nothing to price
            context().forward(record.withValue(new PricedEvent(event, BigDecimal.ZERO)));
            return;
        }
        if (amendment != null && !"replace".equals(amendment)) {
            throw new RejectedEventException("amendment", "'" + amendment + "' is not an amendment: void or replace");
        }
        Map<String, BigDecimal> usage = new LinkedHashMap<>();
        for (Quantity q : event.getUsage()) {
            usage.merge(q.getMeter(), q.getQuantity(), BigDecimal::add);
        }
        // what ingest checks, again for producers that write to usage-events directly: only an adjustment (with a reason, not
        // an amendment) takes usage back, and then with every quantity
        boolean negative = usage.values().stream().anyMatch(q -> q.signum() < 0);
        if (negative && (event.getReason() == null || amendment != null || usage.values().stream().anyMatch(q -> q.signum() > 0))) {
            throw new RejectedEventException("usage", "a negative quantity is only accepted in an adjustment: an event with a reason whose"
                    + " quantities are all negative or zero");
        }
        BigDecimal cost;
        try {
            cost = Pricing.cost(policy.get(), event.getModel(), usage);
        } catch (UnpriceableUsageException e) {
            throw new RejectedEventException(e.field(), e.reason());
        }
        context().forward(record.withValue(new PricedEvent(event, cost)));
    }
}

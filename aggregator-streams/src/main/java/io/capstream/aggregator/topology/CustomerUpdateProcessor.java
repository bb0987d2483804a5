package io.capstream.aggregator.topology;

import io.capstream.policy.EventTimeWindow;
import io.capstream.schemas.CustomerRecord;
import java.time.Instant;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps the customers store (co-partitioned with usage events, so the task that books a customer's
 * usage sees its configuration) and applies changed limits to the current periods at once: a raised
 * cap unblocks and re-arms, a lowered one emits its crossings.
 */
final class CustomerUpdateProcessor extends ContextualProcessor<String, CustomerRecord, String, SpecificRecord> {
    private final EventTimeWindow window;
    private KeyValueStore<String, CustomerRecord> customers;
    private Ledger ledger;

    CustomerUpdateProcessor(EventTimeWindow window) {
        this.window = window;
    }

    @Override
    public void init(ProcessorContext<String, SpecificRecord> context) {
        super.init(context);
        customers = context.getStateStore(UsageTopology.CUSTOMERS_STORE);
        ledger = UsageTopology.ledger(context, window);
    }

    @Override
    public void process(Record<String, CustomerRecord> record) {
        if (record.value() == null) {
            customers.delete(record.key());
            return;
        }
        customers.put(record.key(), record.value());
        for (Ledger.Output o : ledger.reconfigure(record.value(), Instant.ofEpochMilli(record.timestamp()))) {
            context().forward(new Record<>(o.key(), o.value(), record.timestamp()), o.sink());
        }
    }
}

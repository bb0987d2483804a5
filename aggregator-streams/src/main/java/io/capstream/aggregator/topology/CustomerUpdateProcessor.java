package io.capstream.aggregator.topology;

import io.capstream.schemas.CustomerRecord;
import java.time.Instant;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * Keeps the customers store (co-partitioned with usage events, so the task that books a customer's
 * usage sees its configuration) and hands each new configuration to {@code account}, which applies
 * the changed limits to the current periods at once: a raised cap unblocks and re-arms, a lowered
 * one emits its crossings.
 */
final class CustomerUpdateProcessor extends ContextualProcessor<String, CustomerRecord, String, LedgerInput> {
    private KeyValueStore<String, CustomerRecord> customers;

    @Override
    public void init(ProcessorContext<String, LedgerInput> context) {
        super.init(context);
        customers = context.getStateStore(UsageTopology.CUSTOMERS_STORE);
    }

    @Override
    public void process(Record<String, CustomerRecord> record) {
        if (record.value() == null) {
            customers.delete(record.key());
        } else {
            customers.put(record.key(), record.value());
        }
        // every change, deletes too: the ledger keeps parsed customers and must see each one
        context().forward(record.withValue(new LedgerInput.CustomerChanged(record.key(), record.value(), Instant.ofEpochMilli(record.timestamp()))));
    }
}

package io.capstream.aggregator.topology;

import io.capstream.schemas.PolicyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/** Keeps the global policy store: every instance holds every version as it is applied. */
final class PolicyStoreUpdater implements Processor<String, PolicyRecord, Void, Void> {
    private KeyValueStore<String, PolicyRecord> store;

    @Override
    public void init(ProcessorContext<Void, Void> context) {
        store = context.getStateStore(UsageTopology.POLICY_STORE);
    }

    @Override
    public void process(Record<String, PolicyRecord> record) {
        if (record.value() == null) {
            store.delete(record.key());
        } else {
            store.put(record.key(), record.value());
        }
    }
}

package io.capstream.aggregator.topology;

import io.capstream.schemas.PolicyRecord;
import org.apache.kafka.streams.processor.api.Processor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.KeyValueStore;

/** Keeps the global policy store (every instance holds every version as it is applied) and hands each version to the tasks. */
final class PolicyStoreUpdater implements Processor<String, PolicyRecord, Void, Void> {
    private final PolicyCache cache;
    private KeyValueStore<String, PolicyRecord> store;

    PolicyStoreUpdater(PolicyCache cache) {
        this.cache = cache;
    }

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
        cache.applied(record.value());
    }
}

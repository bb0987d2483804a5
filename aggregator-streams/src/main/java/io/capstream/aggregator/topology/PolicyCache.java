package io.capstream.aggregator.topology;

import io.capstream.policy.PolicyDocument;
import io.capstream.schemas.mapping.ParsedPolicy;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.topics.Topics;
import java.util.function.Supplier;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The policy document in force: the latest version on the policy topic (a global store, so every
 * task sees every version without a restart), parsed once per version.
 */
final class PolicyCache implements Supplier<PolicyDocument> {
    private final KeyValueStore<String, PolicyRecord> store;
    private final ParsedPolicy parsed = new ParsedPolicy();

    PolicyCache(KeyValueStore<String, PolicyRecord> store) {
        this.store = store;
    }

    @Override
    public PolicyDocument get() {
        PolicyRecord current = store.get(Topics.POLICY_KEY);
        if (current == null) {
            throw new RejectedEventException("policy", "no policy document has been applied yet (./capstream policy apply FILE)");
        }
        return parsed.parse(current);
    }
}

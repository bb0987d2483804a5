package io.capstream.aggregator.topology;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.mapping.ParsedPolicy;
import io.capstream.schemas.topics.Topics;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.apache.kafka.streams.state.KeyValueStore;

/**
 * The policy document in force, parsed once per version and held in memory for every task of one
 * topology: the global store's updater hands each new version over as it is applied
 * ({@link #applied}), so an event costs neither a store read nor an Avro decode of the YAML source.
 * A store restored at start-up (which does not pass the updater) is read once, and a version applied
 * meanwhile wins over it.
 */
final class PolicyCache {
    /** The document, or why there is none usable. */
    private record Held(PolicyDocument document, RuntimeException problem) {}

    private final AtomicReference<Held> held = new AtomicReference<>();
    private final ParsedPolicy parsed = new ParsedPolicy();

    /** The global updater applied this record (null: the policy was deleted). */
    void applied(PolicyRecord record) {
        held.set(hold(record));
    }

    /** The policy for a task that reads the global store when nothing was handed over yet. */
    Supplier<PolicyDocument> reading(KeyValueStore<String, PolicyRecord> store) {
        return () -> {
            Held h = held.get();
            if (h == null) {
                held.compareAndSet(null, hold(store.get(Topics.POLICY_KEY)));
                h = held.get();
            }
            if (h.problem() != null) {
                throw h.problem();
            }
            return h.document();
        };
    }

    private Held hold(PolicyRecord record) {
        if (record == null) {
            return new Held(null, new RejectedEventException("policy", "no policy document has been applied yet (./capstream policy apply FILE)"));
        }
        try {
            return new Held(parsed.parse(record), null);
        } catch (RuntimeException e) { // a stored document that no longer validates: every event is dead-lettered with the reason
            return new Held(null, e);
        }
    }
}

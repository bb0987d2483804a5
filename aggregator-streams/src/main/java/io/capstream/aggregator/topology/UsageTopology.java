package io.capstream.aggregator.topology;

import io.capstream.policy.EventTimeWindow;
import io.capstream.policy.ResetSchedule;
import io.capstream.policy.PolicyDocument;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.serde.InternalAvroSerde;
import io.capstream.schemas.topics.Topics;
import java.time.Duration;
import java.time.ZoneOffset;
import java.util.function.Supplier;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.state.Stores;

/**
 * The aggregator's topology, a pure function of its inputs. Every source, processor, store and sink
 * has an explicit name, so a change to the topology never silently orphans state.
 *
 * <pre>
 * usage-events ─▶ price ─▶ dedup ─▶ account ─▶ usage-aggregates
 *                  │         │ usage-dedup-store      │ usage-totals-store
 *                  └ refused events ─▶ usage-events-dlq (via {@link DeadLetterHandler})
 * </pre>
 *
 * Pricing comes before dedup so that an event refused for its content does not use up its id: the
 * sender can correct it and send it again.
 */
public final class UsageTopology {
    public static final String SOURCE = "usage-events-source";
    public static final String PRICE = "price";
    public static final String DEDUP = "dedup";
    public static final String ACCOUNT = "account";
    public static final String SINK = "usage-aggregates-sink";
    public static final String DEDUP_STORE = "usage-dedup-store";
    public static final String TOTALS_STORE = "usage-totals-store";

    /** The serdes of the topics the topology reads and writes (registry-backed in production). */
    public record TopicSerdes(Serde<UsageEvent> usageEvents, Serde<LimitUsage> usageAggregates) {}

    private UsageTopology() {}

    public static Topology build(Topics topics, Supplier<PolicyDocument> policy, Duration lateWindow, TopicSerdes serdes) {
        EventTimeWindow window = new EventTimeWindow(lateWindow);
        Duration dedupRetention = window.dedupWindow().multipliedBy(2);
        ResetSchedule schedule = new ResetSchedule.Monthly(1);
        Topology topology = new Topology();
        topology.addSource(SOURCE, Serdes.String().deserializer(), serdes.usageEvents().deserializer(), topics.usageEvents());
        topology.addProcessor(PRICE, () -> new PriceProcessor(policy, window), SOURCE);
        topology.addProcessor(DEDUP, () -> new DedupProcessor(DEDUP_STORE, window.dedupWindow()), PRICE);
        topology.addProcessor(ACCOUNT, () -> new AccountProcessor(TOTALS_STORE, schedule), DEDUP);
        topology.addStateStore(Stores.windowStoreBuilder(
                Stores.persistentWindowStore(DEDUP_STORE, dedupRetention, Duration.ofMillis(1), false),
                Serdes.String(), Serdes.Long()), DEDUP);
        topology.addStateStore(Stores.keyValueStoreBuilder(
                Stores.persistentKeyValueStore(TOTALS_STORE), Serdes.String(), new InternalAvroSerde<>(LimitUsage.class)), ACCOUNT);
        topology.addSink(SINK, topics.usageAggregates(), Serdes.String().serializer(), serdes.usageAggregates().serializer(), ACCOUNT);
        return topology;
    }
}

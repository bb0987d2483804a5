package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capstream.policy.booking.Booking.Total;
import io.capstream.policy.limit.Period;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.serde.InternalAvroSerde;
import java.math.BigDecimal;
import java.nio.file.Files;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.apache.kafka.streams.state.Stores;
import org.apache.kafka.streams.test.TestRecord;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The totals store on a task of its own (TopologyTestDriver, which commits after each input record): changes are objects
 * until the task commits, then each changed total is written once, with its last value, to RocksDB and as one record to
 * usage-aggregates, the store's changelog. How it behaves on a real task lifecycle (commits, revocations, crashes, restores)
 * is tested by the topology tests and on a real cluster by AggregatorCrashIT and AggregatorRebalanceIT.
 */
class TotalsStoreTest {
    private static final Instant NOVEMBER = Instant.parse("2026-11-01T00:00:00Z");
    private static final String TOPIC = "totals";
    private final InternalAvroSerde<LimitUsage> serde = new InternalAvroSerde<>(LimitUsage.class);
    /** What the processor saw inside its task, before the commit. */
    private final List<String> seen = new ArrayList<>();
    private int writes;
    private TopologyTestDriver driver;
    private TestInputTopic<String, String> changes;
    private TestOutputTopic<String, LimitUsage> totals;

    /**
     * Each input record is a list of changes, made one after the other in one task between two commits: {@code key=amount@t},
     * {@code -key@t} for a delete, {@code ?key} to note what the written store holds.
     */
    private final class Changes extends ContextualProcessor<String, String, Void, Void> {
        private TotalsStore store;

        @Override
        public void init(ProcessorContext<Void, Void> context) {
            super.init(context);
            store = context.getStateStore(UsageTopology.LIMITS_STORE);
            store.open(() -> writes++);
        }

        @Override
        public void process(Record<String, String> record) {
            for (String change : record.value().split(",")) {
                if (change.equals("#")) {
                    seen.add("features " + store.featureTotals("acme", NOVEMBER));
                } else if (change.startsWith("?")) {
                    LimitUsage written = store.get(key(change.substring(1)));
                    seen.add(change.substring(1) + (written == null ? " not written" : " written"));
                } else if (change.startsWith("-")) {
                    String[] at = change.substring(1).split("@");
                    store.delete(key(at[0]), Long.parseLong(at[1]));
                } else {
                    String[] kv = change.split("=");
                    String[] at = kv[1].split("@");
                    store.put("acme", key(kv[0]), used(at[0]), Long.parseLong(at[1]));
                }
            }
        }
    }

    @BeforeEach
    void start() throws Exception {
        // the limits store of the production topology, whose changelog is the topic named here
        UsageTopology.AggregatesAsChangelog topology = new UsageTopology.AggregatesAsChangelog(TOPIC);
        topology.addSource("in", Serdes.String().deserializer(), Serdes.String().deserializer(), "changes");
        topology.addProcessor(UsageTopology.ACCOUNT, Changes::new, "in");
        topology.addStateStore(TotalsStore.builder(Stores.keyValueStoreBuilder(Stores.persistentKeyValueStore(UsageTopology.LIMITS_STORE), Serdes.String(),
                serde).withLoggingDisabled(), serde), UsageTopology.ACCOUNT);
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "totals-store-test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("totals-store-test").toString());
        driver = new TopologyTestDriver(topology, props);
        changes = driver.createInputTopic("changes", Serdes.String().serializer(), Serdes.String().serializer());
        totals = driver.createOutputTopic(TOPIC, Serdes.String().deserializer(), serde.deserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    @Test
    void aTotalChangedManyTimesBetweenCommitsIsOneRecordWithItsLastValueAsOfItsLastChange() {
        // when one total changes three times and another once before a commit
        changes.pipeInput("acme", "a=1@10,b=5@11,a=2@12,a=3@13,?a");

        // then nothing was written before the commit, and each changed total is one record, in the order of last change
        assertThat(seen).containsExactly("a not written");
        List<TestRecord<String, LimitUsage>> records = totals.readRecordsToList();
        assertThat(records).extracting(TestRecord::key).containsExactly(key("b"), key("a"));
        assertThat(records).extracting(r -> r.value().getUsed().stripTrailingZeros().toPlainString()).containsExactly("5", "3");
        assertThat(records).extracting(TestRecord::timestamp).containsExactly(11L, 13L);
        assertThat(writes).isEqualTo(1);

        // and RocksDB holds what the topic says; a commit with nothing changed writes nothing
        changes.pipeInput("acme", "?a,?b");
        assertThat(seen).endsWith("a written", "b written");
        assertThat(totals.isEmpty()).isTrue();
    }

    @Test
    void aForgottenTotalIsGoneFromTheStoreAndATombstoneOnTheTopic() {
        changes.pipeInput("acme", "a=1@10");
        totals.readRecordsToList();

        changes.pipeInput("acme", "-a@20,?a");

        assertThat(seen).containsExactly("a not written");
        TestRecord<String, LimitUsage> tombstone = totals.readRecord();
        assertThat(tombstone.key()).isEqualTo(key("a"));
        assertThat(tombstone.value()).isNull();
    }

    @Test
    void tooManyChangedTotalsBetweenCommitsAreWrittenEarly() {
        StringBuilder many = new StringBuilder();
        for (int i = 0; i < TotalsStore.MAX_CHANGED; i++) {
            many.append("c").append(i).append("=1@").append(i).append(',');
        }
        changes.pipeInput("acme", many + "?c0");
        assertThat(seen).containsExactly("c0 written");
        assertThat(totals.getQueueSize()).isEqualTo(TotalsStore.MAX_CHANGED);
    }

    @Test
    void featureTotalsCountsThePeriodsFeaturesWrittenOrChangedSinceButNotTheSharedOne() {
        // changed, not written yet: a and b of November; not (other), not December's c, not a cap
        changes.pipeInput("acme", "feature:a=1@10,feature:b=1@11,feature:(other)=1@12,december:c=1@13,x=1@14,#");
        // after the commit: a and b written, c new and a changed again
        changes.pipeInput("acme", "feature:c=1@20,feature:a=2@21,#");
        assertThat(seen).containsExactly("features 2", "features 3");
    }

    @Test
    void aTaskCannotStartAgainOverChangesNotWritten() {
        TotalsStore store = TotalsStore.builder(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("t"), Serdes.String(), serde)
                .withLoggingDisabled(), serde).build();
        store.put("acme", key("a"), used("1"), 10);
        assertThatThrownBy(() -> store.open(() -> { })).isInstanceOf(IllegalStateException.class);
    }

    @Test
    void aStoreWithAChangelogOfItsOwnIsRefused() {
        assertThatThrownBy(() -> TotalsStore.builder(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("t"), Serdes.String(), serde), serde))
                .hasMessageContaining("usage-aggregates is its changelog");
    }

    /** {@code a}: cap a in November; {@code feature:a}: feature a's total in November, {@code december:a} in December. */
    private static String key(String limit) {
        if (limit.startsWith("feature:")) {
            return "acme|" + limit + "|" + NOVEMBER;
        }
        if (limit.startsWith("december:")) {
            return "acme|feature:" + limit.substring("december:".length()) + "|" + Instant.parse("2026-12-01T00:00:00Z");
        }
        return "acme|cap:" + limit + "|" + NOVEMBER;
    }

    private static Total used(String amount) {
        return new Total("cap:a", "cap", null, "USD", new Period(NOVEMBER, Instant.parse("2026-12-01T00:00:00Z")), ZoneId.of("UTC"),
                BigDecimal.TEN, new BigDecimal(amount), new BigDecimal(amount), BigDecimal.ZERO, BigDecimal.ZERO, new BigDecimal(amount), 1,
                NOVEMBER, List.of(), List.of());
    }
}

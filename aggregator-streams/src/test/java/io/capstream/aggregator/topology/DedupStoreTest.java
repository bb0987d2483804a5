package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Properties;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.common.utils.Bytes;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.TestInputTopic;
import org.apache.kafka.streams.TestOutputTopic;
import org.apache.kafka.streams.Topology;
import org.apache.kafka.streams.TopologyTestDriver;
import org.apache.kafka.streams.processor.api.ContextualProcessor;
import org.apache.kafka.streams.processor.api.ProcessorContext;
import org.apache.kafka.streams.processor.api.Record;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The dedup store on a task of its own (TopologyTestDriver, which commits after each input record): identities remembered
 * between two commits are found at once and after the commit, and the commit logs them as one changelog record. Restores after a
 * crash, on a standby and on a moved partition are tested on a real cluster (AggregatorCrashIT, AggregatorRebalanceIT,
 * AggregatorFailoverIT).
 */
class DedupStoreTest {
    private static final String STORE = "ids";
    private static final long WIDTH = Duration.ofDays(1).toMillis();
    private final List<String> seen = new ArrayList<>();
    private TopologyTestDriver driver;
    private TestInputTopic<String, String> changes;
    private TestOutputTopic<byte[], byte[]> changelog;

    /**
     * Each input record is a list of operations made one after the other in one task between two commits: {@code id=value@bucket}
     * remembers, {@code ?id@bucket} notes what the store finds, {@code !} flushes the memtable to a file.
     */
    private final class Operations extends ContextualProcessor<String, String, Void, Void> {
        private DedupStore store;

        @Override
        public void init(ProcessorContext<Void, Void> context) {
            super.init(context);
            store = context.getStateStore(STORE);
        }

        @Override
        public void process(Record<String, String> record) {
            for (String op : record.value().split(",")) {
                if (op.equals("!")) {
                    store.flush();
                } else if (op.startsWith("?")) {
                    String[] at = op.substring(1).split("@");
                    byte[] found = store.fetch(id(at[0]), bucket(at[1]));
                    seen.add(at[0] + "@" + at[1] + (found == null ? " new" : " " + new String(found, StandardCharsets.UTF_8)));
                } else {
                    String[] kv = op.split("=");
                    String[] at = kv[1].split("@");
                    store.put(id(kv[0]), at[0].getBytes(StandardCharsets.UTF_8), bucket(at[1]));
                }
            }
        }
    }

    @BeforeEach
    void start() throws Exception {
        Topology topology = new Topology();
        topology.addSource("in", Serdes.String().deserializer(), Serdes.String().deserializer(), "ops");
        topology.addProcessor("ops", Operations::new, "in");
        topology.addStateStore(DedupStore.builder(STORE, 10 * WIDTH, WIDTH), "ops");
        Properties props = new Properties();
        props.put(StreamsConfig.APPLICATION_ID_CONFIG, "dedup-store-test");
        props.put(StreamsConfig.STATE_DIR_CONFIG, Files.createTempDirectory("dedup-store-test").toString());
        driver = new TopologyTestDriver(topology, props);
        changes = driver.createInputTopic("ops", Serdes.String().serializer(), Serdes.String().serializer());
        changelog = driver.createOutputTopic("dedup-store-test-" + STORE + "-changelog", Serdes.ByteArray().deserializer(),
                Serdes.ByteArray().deserializer());
    }

    @AfterEach
    void stop() {
        driver.close();
    }

    @Test
    void anIdentityRememberedInACommitIsFoundInThatCommitAndAfterIt() {
        // when an identity is remembered, changed in place and looked up in the same commit
        changes.pipeInput("k", "a=1@5,?a@5,?a@4,?b@5,a=2@5,?a@5,b=3@6");

        // then it is found at once, in its own bucket only, with its last value
        assertThat(seen).containsExactly("a@5 1", "a@4 new", "b@5 new", "a@5 2");

        // and after the commit RocksDB has both, with their last values
        changes.pipeInput("k", "?a@5,?b@6,?b@5");
        assertThat(seen).endsWith("a@5 2", "b@6 3", "b@5 new");
    }

    @Test
    void aBucketIsDroppedWholeOnceTheNewestIsPastItByTheRetentionAndNotBefore() {
        // buckets of days 5 and 6 after 1970, a retention of 10 days: nothing to drop (a retention reaching before 1970 once
        // dropped every identity)
        changes.pipeInput("k", "a=1@5,b=2@6");
        changes.pipeInput("k", "?a@5,?b@6");
        assertThat(seen).containsExactly("a@5 1", "b@6 2");

        // when day 16 is remembered, the buckets before day 6 are past the retention: dropped; day 6 is kept
        changes.pipeInput("k", "c=3@16");
        changes.pipeInput("k", "?a@5,?b@6,?c@16");
        assertThat(seen).endsWith("a@5 new", "b@6 2", "c@16 3");
    }

    @Test
    void identitiesWrittenToFilesAreFoundThereAndDroppedThereOnExpiry() {
        // the memtable is a hash table: what it flushes must be found in the files by key, and a dropped bucket must go there too
        changes.pipeInput("k", "a=1@5,b=2@6,!");
        changes.pipeInput("k", "?a@5,?b@6,?b@5,?c@6");
        assertThat(seen).containsExactly("a@5 1", "b@6 2", "b@5 new", "c@6 new");

        changes.pipeInput("k", "c=3@16,!");
        changes.pipeInput("k", "?a@5,?b@6,?c@16");
        assertThat(seen).endsWith("a@5 new", "b@6 2", "c@16 3");
    }

    @Test
    void theIdentitiesOfACommitAreOneChangelogRecordInTheOrderRemembered() {
        changes.pipeInput("k", "a=1@5,b=3@6,a=2@5");
        changes.pipeInput("k", "?a@5"); // a commit that remembers nothing logs nothing

        List<byte[]> records = changelog.readValuesToList();
        assertThat(records).hasSize(1);
        ByteBuffer batch = ByteBuffer.wrap(records.get(0));
        List<String> entries = new ArrayList<>();
        while (batch.hasRemaining()) {
            long bucket = batch.getLong();
            byte[] hash = new byte[16];
            batch.get(hash);
            byte[] value = new byte[batch.getShort()];
            batch.get(value);
            entries.add(name(hash) + "@" + bucket / WIDTH + "=" + new String(value, StandardCharsets.UTF_8));
        }
        assertThat(entries).containsExactly("a@5=1", "b@6=3", "a@5=2"); // restored in order: the last value wins
    }

    private static Bytes id(String name) {
        byte[] hash = new byte[16];
        hash[0] = (byte) name.charAt(0);
        return Bytes.wrap(hash);
    }

    private static String name(byte[] hash) {
        return String.valueOf((char) hash[0]);
    }

    private static long bucket(String n) {
        return Long.parseLong(n) * WIDTH;
    }
}

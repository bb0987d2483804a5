package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capstream.policy.booking.Booking.Total;
import io.capstream.policy.limit.Period;
import io.capstream.schemas.LimitUsage;
import io.capstream.schemas.serde.InternalAvroSerde;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.ArrayList;
import java.util.List;
import org.apache.kafka.common.serialization.Serdes;
import org.apache.kafka.streams.processor.api.MockProcessorContext;
import org.apache.kafka.streams.state.Stores;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/**
 * The totals store on its own: changes are objects until the cache is flushed (as Kafka Streams does
 * before every commit), then written and emitted once per changed total with its last value. How it
 * behaves on a real task lifecycle (commits, revocations, crashes) is tested by the topology tests and
 * on a real cluster by AggregatorCrashIT and AggregatorRebalanceIT.
 */
class TotalsStoreTest {
    private static final Instant NOVEMBER = Instant.parse("2026-11-01T00:00:00Z");
    private final List<String> emitted = new ArrayList<>();
    private int writes;
    private TotalsStore store;

    @BeforeEach
    void open() {
        store = TotalsStore.builder(Stores.keyValueStoreBuilder(Stores.inMemoryKeyValueStore("totals"), Serdes.String(),
                new InternalAvroSerde<>(LimitUsage.class)).withLoggingDisabled()).build();
        store.init(new MockProcessorContext<>().getStateStoreContext(), store);
        store.open(new TotalsStore.Emitter() {
            @Override
            public void emit(String key, LimitUsage total, long timestamp) {
                emitted.add(key + "=" + total.getUsed().stripTrailingZeros().toPlainString() + "@" + timestamp);
            }

            @Override
            public void written() {
                writes++;
            }
        });
    }

    @Test
    void aTotalChangedManyTimesBetweenCommitsIsWrittenAndEmittedOnceWithItsLastValue() {
        // when one total changes three times and another once before a commit
        store.put("acme", "acme|cap:a|" + NOVEMBER, used("1"), 10);
        store.put("acme", "acme|cap:b|" + NOVEMBER, used("5"), 11);
        store.put("acme", "acme|cap:a|" + NOVEMBER, used("2"), 12);
        store.put("acme", "acme|cap:a|" + NOVEMBER, used("3"), 13);

        // then it reads the newest value at once, but nothing is written or emitted yet
        assertThat(store.total("acme|cap:a|" + NOVEMBER)).get().extracting(Total::used).isEqualTo(new BigDecimal("3"));
        assertThat(store.get("acme|cap:a|" + NOVEMBER)).isNull();
        assertThat(emitted).isEmpty();

        // and when the cache is flushed, each changed total is written and emitted once, in the order of last change
        store.flushCache();
        assertThat(emitted).containsExactly("acme|cap:b|" + NOVEMBER + "=5@11", "acme|cap:a|" + NOVEMBER + "=3@13");
        assertThat(store.get("acme|cap:a|" + NOVEMBER).getUsed()).isEqualByComparingTo("3");
        assertThat(writes).isEqualTo(1);

        // and a flush with nothing changed writes nothing
        store.flushCache();
        assertThat(emitted).hasSize(2);
    }

    @Test
    void changesDroppedWithAnAbortedTransactionAreNotWrittenAndReadsComeFromTheWrittenStoreAgain() {
        store.put("acme", "acme|cap:a|" + NOVEMBER, used("1"), 10);
        store.flushCache();
        store.put("acme", "acme|cap:a|" + NOVEMBER, used("9"), 20);

        store.clearCache(); // what a task closed without a commit does

        store.flushCache();
        assertThat(emitted).containsExactly("acme|cap:a|" + NOVEMBER + "=1@10");
        assertThat(store.total("acme|cap:a|" + NOVEMBER)).get().extracting(Total::used).isEqualTo(new BigDecimal("1.000000000000000000"));
    }

    @Test
    void tooManyChangedTotalsBetweenCommitsAreWrittenEarly() {
        for (int i = 0; i < TotalsStore.MAX_CHANGED; i++) {
            store.put("c" + i, "c" + i + "|cap:a|" + NOVEMBER, used("1"), i);
        }
        assertThat(emitted).hasSize(TotalsStore.MAX_CHANGED);
        assertThat(store.get("c0|cap:a|" + NOVEMBER)).isNotNull();
    }

    @Test
    void aTaskCannotStartAgainOverChangesNotWritten() {
        store.put("acme", "acme|cap:a|" + NOVEMBER, used("1"), 10);
        assertThatThrownBy(() -> store.open((key, total, timestamp) -> { })).isInstanceOf(IllegalStateException.class);
    }

    private static Total used(String amount) {
        return new Total("cap:a", "cap", null, "USD", new Period(NOVEMBER, Instant.parse("2026-12-01T00:00:00Z")), ZoneId.of("UTC"),
                BigDecimal.TEN, new BigDecimal(amount), new BigDecimal(amount), BigDecimal.ZERO, BigDecimal.ZERO, new BigDecimal(amount), 1,
                NOVEMBER, List.of(), List.of());
    }
}

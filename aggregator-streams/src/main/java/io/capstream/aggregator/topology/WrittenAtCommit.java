package io.capstream.aggregator.topology;

import java.util.Map;
import java.util.function.Function;
import org.apache.kafka.streams.processor.StateStore;
import org.apache.kafka.streams.state.StoreBuilder;
import org.apache.kafka.streams.state.internals.WrappedStateStore;

/**
 * A store in front of a logged RocksDB store that keeps the task's changes as objects and writes them
 * once per commit ({@link TotalsStore}, {@link SeriesStore}). Exactly once holds because the changes
 * live in a store, not in a processor: Kafka Streams flushes every store ({@link #flushCache()}) before
 * it commits the task's transaction, also at revocation, and a task closed without a commit drops them
 * with the transaction ({@link #clearCache()}, {@link #close()}). It extends Kafka Streams' internal
 * {@link WrappedStateStore} because that hook is not public API; the DSL's caching stores use the same.
 */
abstract class WrittenAtCommit<S extends StateStore, K, V> extends WrappedStateStore<S, K, V> {

    WrittenAtCommit(S written) {
        super(written);
    }

    /** Writes every change to the store below (and so to its changelog). */
    abstract void writeChanged();

    /** Forgets the changes not written and the objects kept: the store below is what counts. */
    abstract void forget();

    @Override
    public final void flushCache() {
        writeChanged();
    }

    @Override
    public final void clearCache() {
        forget();
    }

    @Override
    public final void close() {
        forget();
        super.close();
    }

    /** A builder of {@code wrap} in front of what {@code written} builds (no record cache: the wrapper is the cache). */
    static <S extends StateStore, T extends WrittenAtCommit<S, ?, ?>> StoreBuilder<T> builder(StoreBuilder<S> written, Function<S, T> wrap) {
        return new StoreBuilder<>() {
            @Override public StoreBuilder<T> withCachingEnabled() { throw new UnsupportedOperationException(name() + " is its own cache"); }
            @Override public StoreBuilder<T> withCachingDisabled() { return this; }
            @Override public StoreBuilder<T> withLoggingEnabled(Map<String, String> config) { written.withLoggingEnabled(config); return this; }
            @Override public StoreBuilder<T> withLoggingDisabled() { written.withLoggingDisabled(); return this; }
            @Override public T build() { return wrap.apply(written.withCachingDisabled().build()); }
            @Override public Map<String, String> logConfig() { return written.logConfig(); }
            @Override public boolean loggingEnabled() { return written.loggingEnabled(); }
            @Override public String name() { return written.name(); }
        };
    }
}

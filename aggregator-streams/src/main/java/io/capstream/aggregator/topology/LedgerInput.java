package io.capstream.aggregator.topology;

import io.capstream.schemas.CustomerRecord;
import java.time.Instant;

/**
 * What the {@code account} processor applies to a task's {@link Ledger}: a unique priced event, or a
 * customer's new configuration. Both reach one processor, so one ledger (and its in-memory totals)
 * sees every change of the task's totals. Passed between processors of one task, never serialized.
 */
sealed interface LedgerInput permits PricedEvent, LedgerInput.CustomerChanged {
    /**
     * A customer's configuration changed at {@code at}: apply it to the current periods of its limits.
     * A null record: the customer's configuration was deleted.
     */
    record CustomerChanged(String customer, CustomerRecord record, Instant at) implements LedgerInput {}
}

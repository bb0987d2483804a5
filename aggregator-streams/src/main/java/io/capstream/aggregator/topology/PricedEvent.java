package io.capstream.aggregator.topology;

import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;

/** An event with its exact cost, passed between processors of one task (never serialized). */
record PricedEvent(UsageEvent event, BigDecimal cost) implements LedgerInput {}

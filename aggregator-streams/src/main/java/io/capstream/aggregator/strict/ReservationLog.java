package io.capstream.aggregator.strict;

import io.capstream.schemas.ReservationRecord;
import java.util.List;
import java.util.concurrent.CompletableFuture;

/**
 * Where the owning instance writes each reservation it makes or releases before it answers: the
 * {@code reservations} topic, which the task that owns the customer keeps in a changelogged store
 * (so a partition that moves keeps its open reservations).
 */
@FunctionalInterface
public interface ReservationLog {
    /** Completes when every record is durable (acknowledged by the brokers), exceptionally if one is not. */
    CompletableFuture<Void> write(List<ReservationRecord> records);
}

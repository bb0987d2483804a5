package io.capstream.schemas.mapping;

import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.runaway.Breaker;
import io.capstream.schemas.RunawayBreaker;
import io.capstream.schemas.RunawayState;
import java.time.ZoneId;
import java.util.Locale;
import java.util.Optional;

/** Runaway circuit breakers between their Avro records ({@code runaway-breakers}) and the policy module's {@link Breaker}. */
public final class RunawayMapping {
    private RunawayMapping() {}

    public static Breaker breaker(RunawayState state, RunawayBreaker b) {
        return new Breaker(state.getCustomer(), Optional.ofNullable(b.getApiKey()), LimitAction.valueOf(b.getAction().toUpperCase(Locale.ROOT)),
                b.getRate(), b.getBaseline(), b.getTripRate(), b.getOpenedAt(), b.getClosesAt(), ZoneId.of(state.getTimezone()));
    }
}

package io.capstream.policy;

import io.capstream.policy.customer.Customer;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.limit.CurrentPeriods;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.Period;
import io.capstream.policy.limit.ResetSchedule;

import static org.assertj.core.api.Assertions.assertThat;

import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class CurrentPeriodsTest {
    @Test
    void theRememberedPeriodIsUsedWhileItContainsTheInstantAndReplacedAfter() {
        CurrentPeriods periods = new CurrentPeriods();
        Customer kolkata = new Customer("acme", null, ZoneId.of("Asia/Kolkata"), 1, Customer.Contacts.NONE, false, Customer.Status.ACTIVE,
                List.of(), List.of());
        Cap daily = new Cap("d", null, java.math.BigDecimal.ONE, Measure.USD, CapFilter.ALL, ResetSchedule.parse("daily"), Optional.empty(),
                false, false, Cap.DEFAULT_THRESHOLDS, LimitAction.BLOCK, false, Optional.empty());
        Instant beforeMidnight = Instant.parse("2026-11-21T18:29:59Z"); // 23:59:59 in Kolkata

        Period first = periods.of(daily, kolkata, beforeMidnight);
        Period same = periods.of(daily, kolkata, beforeMidnight.minusSeconds(3600));
        Period next = periods.of(daily, kolkata, beforeMidnight.plusSeconds(1));

        assertThat(same).isSameAs(first);
        assertThat(first.end()).isEqualTo(Instant.parse("2026-11-21T18:30:00Z"));
        assertThat(next.start()).isEqualTo(first.end());
        assertThat(next).isEqualTo(daily.periodAt(kolkata, beforeMidnight.plusSeconds(1)));
    }
}

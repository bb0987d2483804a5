package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.customer.Customer;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import org.junit.jupiter.api.Test;

/** Whether a new timezone or billing anchor day moves the billing period in progress ({@link Customer#movesBillingPeriod}). */
class BillingScheduleChangeTest {
    static Customer in(String zone, int anchorDay) {
        return new Customer("acme", "pro", ZoneId.of(zone), anchorDay, Customer.Contacts.NONE, false, Customer.Status.ACTIVE, List.of(), List.of());
    }

    @Test
    void anotherOffsetOrAnchorDayMovesThePeriodAZoneAtTheSameOffsetThatMonthDoesNot() {
        Instant december = Instant.parse("2026-12-07T22:00:00Z");
        assertThat(in("UTC", 1).movesBillingPeriod(in("Asia/Tokyo", 1), december)).isTrue();
        assertThat(in("UTC", 1).movesBillingPeriod(in("UTC", 15), december)).isTrue();
        assertThat(in("UTC", 1).movesBillingPeriod(in("UTC", 1), december)).isFalse();
        // London keeps UTC in winter: December's period starts at the same instant
        assertThat(in("UTC", 1).movesBillingPeriod(in("Europe/London", 1), december)).isFalse();
        // but not in summer
        assertThat(in("UTC", 1).movesBillingPeriod(in("Europe/London", 1), Instant.parse("2026-07-07T22:00:00Z"))).isTrue();
        // anchor days 30 and 31 both start the period on November 30, but it ends on December 30 or 31: that moves it too
        assertThat(in("UTC", 30).movesBillingPeriod(in("UTC", 31), december)).isTrue();
    }
}

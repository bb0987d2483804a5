package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.github.bucket4j.TimeMeter;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import org.junit.jupiter.api.Test;

class CustomerRateLimiterTest {
    /** A clock moved by hand. */
    static final class ManualTime implements TimeMeter {
        long nanos = 1_000_000_000L;

        @Override
        public long currentTimeNanos() {
            return nanos;
        }

        @Override
        public boolean isWallClockBased() {
            return false;
        }

        void advance(Duration d) {
            nanos += d.toNanos();
        }
    }

    @Test
    void aBurstOfTenSecondsWorthThenTheRateAndTheWaitUntilTheNextToken() {
        ManualTime time = new ManualTime();
        CustomerRateLimiter limiter = new CustomerRateLimiter(5, time);
        for (int i = 0; i < 5 * CustomerRateLimiter.BURST_SECONDS; i++) {
            assertThat(limiter.take("cus_a")).as("amendment %d of the burst", i).isEmpty();
        }
        assertThat(limiter.take("cus_a")).hasValue(Duration.ofMillis(200));
        time.advance(Duration.ofMillis(200));
        assertThat(limiter.take("cus_a")).isEmpty();
        assertThat(limiter.take("cus_a")).isPresent();
    }

    @Test
    void customersHaveBucketsOfTheirOwn() {
        CustomerRateLimiter limiter = new CustomerRateLimiter(1, new ManualTime());
        for (int i = 0; i < CustomerRateLimiter.BURST_SECONDS; i++) {
            limiter.take("cus_a");
        }
        assertThat(limiter.take("cus_a")).isPresent();
        assertThat(limiter.take("cus_b")).isEmpty();
    }

    @Test
    void aRequestOfSeveralCustomersIsTakenWholeOrRefusedWholeNamingTheCustomerWhoseBucketIsShort() {
        ManualTime time = new ManualTime();
        CustomerRateLimiter limiter = new CustomerRateLimiter(10, time); // bursts of 100
        limiter.takeOrRefuse(Collections.nCopies(95, "cus_a"), "events_rate_limited", "send", "");
        List<String> request = new ArrayList<>(Collections.nCopies(60, "cus_b"));
        request.addAll(Collections.nCopies(6, "cus_a")); // 5 left
        assertThatThrownBy(() -> limiter.takeOrRefuse(request, "events_rate_limited", "send at most 10 events a second", "; nothing was stored"))
                .isInstanceOfSatisfying(ApiException.class, e -> {
                    assertThat(e.status()).isEqualTo(429);
                    assertThat(e.getMessage()).contains("customer 'cus_a' may send at most 10 events a second", "retry in 1 s; nothing was stored");
                    assertThat(e.headers()).containsEntry("Retry-After", "1");
                });
        // what was taken from cus_b was given back, and cus_a kept its 5
        limiter.takeOrRefuse(Collections.nCopies(100, "cus_b"), "events_rate_limited", "send", "");
        limiter.takeOrRefuse(Collections.nCopies(5, "cus_a"), "events_rate_limited", "send", "");
        assertThat(limiter.take("cus_a")).hasValue(Duration.ofMillis(100));
        assertThat(limiter.take("cus_b")).hasValue(Duration.ofMillis(100));
    }

    @Test
    void zeroMeansNoLimit() {
        CustomerRateLimiter limiter = new CustomerRateLimiter(0, new ManualTime());
        for (int i = 0; i < 100_000; i++) {
            assertThat(limiter.take("cus_a")).isEmpty();
        }
    }

    @Test
    void anIdleCustomersBucketIsDroppedAndComesBackFull() {
        ManualTime time = new ManualTime();
        CustomerRateLimiter limiter = new CustomerRateLimiter(1, time);
        for (int i = 0; i < CustomerRateLimiter.BURST_SECONDS; i++) {
            limiter.take("cus_a");
        }
        time.advance(Duration.ofSeconds(CustomerRateLimiter.BURST_SECONDS + 2));
        limiter.take("cus_b"); // any access lets the cache drop what expired
        assertThat(limiter.size()).isEqualTo(1);
        for (int i = 0; i < CustomerRateLimiter.BURST_SECONDS; i++) {
            assertThat(limiter.take("cus_a")).isEmpty();
        }
    }

    @Test
    void aChargeAfterTheFactPutsTheBucketInDebtUntilItHasRefilled() {
        ManualTime time = new ManualTime();
        CustomerRateLimiter limiter = new CustomerRateLimiter(2, time);
        assertThat(limiter.take("cus_a")).isEmpty();
        limiter.charge("cus_a", 25); // the burst of 20 held 19 after the take: 6 in debt
        assertThat(limiter.take("cus_a")).hasValue(Duration.ofMillis(3_500)); // 7 tokens at 2 a second
        time.advance(Duration.ofMillis(3_500));
        assertThat(limiter.take("cus_a")).isEmpty();
        assertThat(limiter.take("cus_b")).as("another customer's bucket").isEmpty();
        CustomerRateLimiter unlimited = new CustomerRateLimiter(0, time);
        unlimited.charge("cus_a", 1_000);
        assertThat(unlimited.take("cus_a")).isEmpty();
    }
}

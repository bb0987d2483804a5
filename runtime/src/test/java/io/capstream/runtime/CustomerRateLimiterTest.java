package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.github.bucket4j.TimeMeter;
import java.time.Duration;
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

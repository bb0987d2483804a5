package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.Set;
import org.junit.jupiter.api.Test;

class PrincipalTest {
    @Test
    void onlyAKeyScopedToExactlyOneCustomerHasThatCustomerToCountBeforeItsRequestIsRead() {
        assertThat(new Principal("own", Set.of("ingest:cus_a", "check")).onlyIngestCustomer()).hasValue("cus_a");
        assertThat(new Principal("two", Set.of("ingest:cus_a", "ingest:cus_b")).onlyIngestCustomer()).isEmpty();
        assertThat(new Principal("svc", Set.of("ingest", "ingest:cus_a")).onlyIngestCustomer()).isEmpty();
        assertThat(new Principal("admin", Set.of("admin", "ingest:cus_a")).onlyIngestCustomer()).isEmpty();
        assertThat(new Principal("reader", Set.of("customer:cus_a")).onlyIngestCustomer()).isEmpty();
    }
}

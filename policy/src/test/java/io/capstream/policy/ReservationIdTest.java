package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.decision.ReservationId;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** A minted reservation id names its customer, and only its customer, whatever characters the customer id holds. */
class ReservationIdTest {
    @Property(tries = 2_000)
    void aMintedIdNamesItsCustomer(@ForAll("customers") String customer) {
        String id = ReservationId.mint(customer);
        assertThat(ReservationId.customerOf(id)).contains(customer);
        assertThat(ReservationId.isFor(id, customer)).isTrue();
        assertThat(ReservationId.isFor(id, customer + "x")).isFalse();
    }

    @Provide
    Arbitrary<String> customers() {
        // identifier characters, including those whose base64 holds '_' and '-'
        return Arbitraries.strings().withChars("aZz09_.:@/-?>~\u00ff").ofMinLength(1).ofMaxLength(128);
    }

    @Test
    void whatIsNotAnIdNamesNoCustomer() {
        assertThat(ReservationId.customerOf("res_YWNtZQ_3f9c2a1b7d4e8f60")).contains("acme");
        assertThat(ReservationId.customerOf("res_YWNtZQ_short")).isEmpty();
        assertThat(ReservationId.customerOf("res__3f9c2a1b7d4e8f60")).isEmpty();
        assertThat(ReservationId.customerOf("rez_YWNtZQ_3f9c2a1b7d4e8f60")).isEmpty();
        assertThat(ReservationId.customerOf("res_!!!_3f9c2a1b7d4e8f60")).isEmpty();
        assertThat(ReservationId.customerOf("res_YWNtZQ_3f9c2a1b7d4e8f6" + "0".repeat(300))).isEmpty();
    }
}

package io.capstream.aggregator.topology;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.schemas.ReservationHold;
import io.capstream.schemas.ReservationRecord;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Map;
import org.apache.kafka.streams.state.KeyValueStore;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** Strict reservations kept by the task that owns the customer: from the reservations topic into its store and book, out when settled or released. */
class ReservationsTopologyTest {
    static final Instant T0 = LimitsTopologyTest.T0;
    static final String ID = "res_YWNtZQ_0123456789abcdef";
    static final String KEY = "acme|cap:hard|2026-11-01T00:00:00Z";

    final TopologyFixture f = new TopologyFixture(LimitsTopologyTest.POLICY);

    @AfterEach
    void stop() {
        f.close();
    }

    KeyValueStore<String, ReservationRecord> store() {
        return f.driver.getKeyValueStore(UsageTopology.RESERVATIONS_STORE);
    }

    static ReservationRecord reservation(String id, boolean released) {
        return new ReservationRecord(id, "acme", released ? List.of() : List.of(new ReservationHold(KEY, new BigDecimal("0.60").setScale(18))),
                Instant.now().plus(10, ChronoUnit.MINUTES).truncatedTo(ChronoUnit.MILLIS), released);
    }

    @Test
    void aReservationFromTheTopicHoldsUntilTheEventCarryingItIsBooked() {
        // when the owning instance wrote a reservation of $0.60
        f.reservationsIn.pipeInput("acme", reservation(ID, false));

        // then the task keeps it, and this instance's book holds it
        assertThat(store().get(ID)).isNotNull();
        assertThat(f.reservations.open("acme", KEY)).isEqualByComparingTo("0.60");

        // when the usage of the request arrives with the reservation id and its total is written
        UsageEvent used = TopologyFixture.event("e1", "acme", "chat", null, T0, Map.of("requests", 1L));
        used.setReservationId(ID);
        f.send(used, T0);

        // then it holds nothing any more, in the store or the book
        assertThat(store().get(ID)).isNull();
        assertThat(f.reservations.open("acme", KEY)).isEqualByComparingTo("0");
    }

    @Test
    void aReleasedReservationLeavesTheStoreAndTheBook() {
        f.reservationsIn.pipeInput("acme", reservation(ID, false));
        f.reservationsIn.pipeInput("acme", reservation(ID, true));

        assertThat(store().get(ID)).isNull();
        assertThat(f.reservations.open("acme", KEY)).isEqualByComparingTo("0");
    }

    @Test
    void anotherCustomersRecordCannotPlaceOrSettleAHold() {
        // a record under another customer's key is not one an aggregator wrote
        f.reservationsIn.pipeInput("globex", reservation(ID, false));
        assertThat(store().get(ID)).isNull();

        // another customer's event carrying acme's reservation id settles nothing
        f.reservationsIn.pipeInput("acme", reservation(ID, false));
        UsageEvent foreign = TopologyFixture.event("g1", "globex", "chat", null, T0, Map.of("requests", 1L));
        foreign.setReservationId(ID);
        f.send(foreign, T0);
        assertThat(store().get(ID)).isNotNull();
        assertThat(f.reservations.open("acme", KEY)).isEqualByComparingTo("0.60");
    }
}

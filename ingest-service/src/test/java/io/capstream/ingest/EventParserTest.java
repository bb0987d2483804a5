package io.capstream.ingest;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.policy.booking.EventTimeWindow;
import io.capstream.runtime.Json;
import io.capstream.schemas.UsageEvent;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;

class EventParserTest {
    final EventParser parser = new EventParser(new EventTimeWindow(Duration.ofHours(24)), java.util.Optional::empty);
    final Instant now = Instant.parse("2026-11-21T10:05:00Z");

    JsonNode json(String s) throws Exception {
        return Json.MAPPER.readTree(s);
    }

    @Test
    void readsANativeEventWithExactQuantities() throws Exception {
        EventParser.Result r = parser.parse(json("""
                {"id": "evt_01", "customer": "cus_123", "user": "usr_9", "api_key": "key_abc", "feature": "chat",
                 "model": "gpt-4o", "time": "2026-11-21T10:00:00Z",
                 "usage": {"input_tokens": 1200, "gpu_seconds": "0.000000001"}, "reservation_id": "res_7"}"""),
                EventParser.Form.NATIVE, now);

        assertThat(r.errors()).isEmpty();
        UsageEvent e = r.events().getFirst();
        assertThat(e.getCustomer()).isEqualTo("cus_123");
        assertThat(e.getTime()).isEqualTo(Instant.parse("2026-11-21T10:00:00Z"));
        assertThat(e.getUsage()).hasSize(2);
        assertThat(e.getUsage().get(1).getQuantity()).isEqualByComparingTo("0.000000001");
        assertThat(e.getReservationId()).isEqualTo("res_7");
    }

    @Test
    void readsACloudEventBatch() throws Exception {
        EventParser.Result r = parser.parse(json("""
                [{"specversion": "1.0", "id": "a", "source": "svc/chat", "type": "usage", "subject": "cus_1",
                  "time": "2026-11-21T10:00:00+05:30", "data": {"feature": "chat", "model": "gpt-4o", "usage": {"input_tokens": 5}}}]"""),
                EventParser.Form.CLOUDEVENT, now);

        assertThat(r.errors()).isEmpty();
        assertThat(r.events().getFirst().getSource()).isEqualTo("svc/chat");
        assertThat(r.events().getFirst().getTime()).isEqualTo(Instant.parse("2026-11-21T04:30:00Z"));
    }

    @Test
    void namesEveryBadEventAndFieldAndKeepsNoEventOfTheBatch() throws Exception {
        EventParser.Result r = parser.parse(json("""
                [{"id": "ok", "customer": "cus_1", "feature": "chat", "usage": {"requests": 1}},
                 {"id": "b", "customer": "cus|1", "feature": "chat", "usage": {"input_tokens": -1}},
                 {"customer": "cus_1", "feature": "chat", "usage": {}, "costumer": "x"},
                 {"id": "d", "customer": "cus_1", "feature": "chat", "usage": {"t": 1.5}, "time": "2026-11-19T00:00:00Z"},
                 {"id": "e", "customer": "cus_1", "feature": "chat", "usage": {"t": 1}, "time": "yesterday"}]"""),
                EventParser.Form.NATIVE, now);

        assertThat(r.events()).isEmpty();
        assertThat(r.errors()).extracting(FieldError::index, FieldError::field).containsExactlyInAnyOrder(
                org.assertj.core.groups.Tuple.tuple(1, "customer"),
                org.assertj.core.groups.Tuple.tuple(1, "usage.input_tokens"),
                org.assertj.core.groups.Tuple.tuple(2, "id"),
                org.assertj.core.groups.Tuple.tuple(2, "usage"),
                org.assertj.core.groups.Tuple.tuple(2, "costumer"),
                org.assertj.core.groups.Tuple.tuple(3, "time"),
                org.assertj.core.groups.Tuple.tuple(4, "time"));
        assertThat(r.errors()).filteredOn(e -> e.index() == 3).first()
                .satisfies(e -> assertThat(e.message()).contains("older than the late window"));
    }

    @Test
    void refusesQuantitiesFinerThanTheWireScale() throws Exception {
        EventParser.Result r = parser.parse(json("""
                {"id": "a", "customer": "c", "feature": "f", "usage": {"gpu_seconds": 0.0000000001}}"""), EventParser.Form.NATIVE, now);
        assertThat(r.errors()).singleElement().satisfies(e -> assertThat(e.message()).contains("9 digits"));
    }

    @Test
    void anAdjustmentWithAReasonMayTakeUsageBackButNotMixSignsAndWithoutAReasonNothingIsNegative() throws Exception {
        EventParser.Result credit = parser.parse(json("""
                {"id": "credit-1", "customer": "cus_1", "feature": "chat", "usage": {"requests": "-3", "gpu_seconds": -0.5}, "reason": "outage credit"}"""),
                EventParser.Form.NATIVE, now);
        assertThat(credit.errors()).isEmpty();
        assertThat(credit.events().getFirst().getReason()).isEqualTo("outage credit");
        assertThat(credit.events().getFirst().getUsage()).extracting(q -> q.getQuantity().stripTrailingZeros().toPlainString())
                .containsExactly("-3", "-0.5");

        EventParser.Result mixed = parser.parse(json("""
                {"id": "x", "customer": "cus_1", "feature": "chat", "usage": {"requests": -3, "tokens": 5}, "reason": "oops"}"""),
                EventParser.Form.NATIVE, now);
        assertThat(mixed.errors()).singleElement().satisfies(e -> {
            assertThat(e.field()).isEqualTo("usage");
            assertThat(e.message()).contains("all negative");
        });

        EventParser.Result unexplained = parser.parse(json("""
                {"id": "y", "customer": "cus_1", "feature": "chat", "usage": {"requests": -3}}"""), EventParser.Form.NATIVE, now);
        assertThat(unexplained.errors()).singleElement().satisfies(e -> {
            assertThat(e.field()).isEqualTo("usage.requests");
            assertThat(e.message()).contains("must not be negative");
        });
    }

    @Test
    void aVoidNamesTheCustomerAndSourceOfTheEventItTakesBack() throws Exception {
        EventParser.Result v = parser.parseVoid("evt_7", json("""
                {"customer": "cus_1", "source": "svc", "reason": "double-reported"}"""), now);
        assertThat(v.errors()).isEmpty();
        UsageEvent e = v.events().getFirst();
        assertThat(e.getAmendment()).isEqualTo("void");
        assertThat(e.getId()).isEqualTo("evt_7");
        assertThat(e.getSource()).isEqualTo("svc");
        assertThat(e.getTime()).isEqualTo(now);

        assertThat(parser.parseVoid("evt_7", json("{\"source\": \"svc\", \"extra\": 1}"), now).errors())
                .extracting(FieldError::field).containsExactlyInAnyOrder("customer", "extra");
    }
}

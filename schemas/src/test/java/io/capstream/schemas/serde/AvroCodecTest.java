package io.capstream.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.time.Instant;
import java.util.List;
import org.junit.jupiter.api.Test;

class AvroCodecTest {
    @Test
    void decimalsAndTimesSurviveARoundTripExactly() {
        UsageEvent event = UsageEvent.newBuilder()
                .setId("evt_1").setSource("svc").setCustomer("cus_1").setFeature("chat").setModel("gpt-4o")
                .setTime(Instant.parse("2026-11-21T10:00:00Z"))
                .setUsage(List.of(new Quantity("input_tokens", null, new BigDecimal("1200.000000000")),
                        new Quantity("gpu_seconds", null, new BigDecimal("0.000000001"))))
                .build();
        InternalAvroSerde<UsageEvent> serde = new InternalAvroSerde<>(UsageEvent.class);

        UsageEvent back = serde.deserialize("t", serde.serialize("t", event));

        assertThat(back).isEqualTo(event);
        assertThat(back.getUsage().get(1).getQuantity()).isEqualByComparingTo("0.000000001");
    }
}

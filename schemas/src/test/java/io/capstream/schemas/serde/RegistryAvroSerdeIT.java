package io.capstream.schemas.serde;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import com.fasterxml.jackson.databind.ObjectMapper;
import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.testkit.SharedStack;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.ByteBuffer;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.apache.avro.Schema;
import org.apache.avro.generic.GenericDatumReader;
import org.apache.avro.generic.GenericRecord;
import org.apache.avro.io.DecoderFactory;
import org.apache.kafka.common.errors.SerializationException;
import org.junit.jupiter.api.Test;

/** Against a real Apicurio Registry through its Confluent-compatible API. */
class RegistryAvroSerdeIT {
    final String url = SharedStack.registry().url();

    static UsageEvent event() {
        return UsageEvent.newBuilder()
                .setId("evt_1").setSource("svc").setCustomer("cus_1").setFeature("chat").setModel("gpt-4o")
                .setTime(Instant.parse("2026-11-21T10:00:00Z"))
                .setUsage(List.of(new Quantity("input_tokens", null, new BigDecimal("1200.000000000"))))
                .build();
    }

    @Test
    void roundTripsThroughTheRegistryInTheConfluentWireFormat() throws Exception {
        // given
        RegistryAvroSerde<UsageEvent> serde = new RegistryAvroSerde<>(UsageEvent.class);
        serde.configure(Map.of(RegistryAvroSerde.REGISTRY_URL, url, RegistryAvroSerde.AUTO_REGISTER, "true"), false);
        // when
        byte[] bytes = serde.serialize("roundtrip-events", event());
        // then the bytes are magic 0 + schema id + Avro binary, and an independent reader that knows
        // only the registry's address decodes them
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        assertThat(buffer.get()).isZero();
        int id = buffer.getInt();
        String body = HttpClient.newHttpClient().send(
                HttpRequest.newBuilder(URI.create(url + "/schemas/ids/" + id)).build(), HttpResponse.BodyHandlers.ofString()).body();
        Schema writer = new Schema.Parser().parse(new ObjectMapper().readTree(body).get("schema").asText());
        GenericRecord generic = new GenericDatumReader<GenericRecord>(writer)
                .read(null, DecoderFactory.get().binaryDecoder(bytes, 5, bytes.length - 5, null));
        assertThat(generic.get("customer").toString()).isEqualTo("cus_1");
        assertThat(serde.deserialize("roundtrip-events", bytes)).isEqualTo(event());
    }

    @Test
    void producerWithoutAutoRegistrationIsToldTheSchemaIsNotRegistered() {
        RegistryAvroSerde<UsageEvent> serde = new RegistryAvroSerde<>(UsageEvent.class);
        serde.configure(Map.of(RegistryAvroSerde.REGISTRY_URL, url), false);

        assertThatThrownBy(() -> serde.serialize("unregistered-events", event()))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("is not registered under subject 'unregistered-events-value'");
    }

    @Test
    void producerWithASchemaTheRegistryRejectsIsToldItIsIncompatible() {
        // given a subject whose existing schema the generated UsageEvent cannot read (BACKWARD)
        SchemaRegistryClient client = new SchemaRegistryClient(url);
        Schema other = new Schema.Parser().parse("""
                {"type":"record","name":"UsageEvent","namespace":"io.capstream.schemas",
                 "fields":[{"name":"legacy","type":"string"}]}""");
        client.register("incompatible-events-value", other);
        client.setCompatibility("incompatible-events-value", "BACKWARD");
        RegistryAvroSerde<UsageEvent> serde = RegistryAvroSerde.of(UsageEvent.class, client, true);

        // when / then
        assertThatThrownBy(() -> serde.serialize("incompatible-events", event()))
                .isInstanceOf(SerializationException.class)
                .hasMessageContaining("incompatible");
    }
}

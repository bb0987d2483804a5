package io.capstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.capstream.runtime.Json;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BackfillFileTest {
    static final Instant FROM = Instant.parse("2026-11-01T00:00:00Z");
    static final Instant TO = Instant.parse("2026-11-02T00:00:00Z");

    @TempDir
    Path dir;

    @Test
    void readsCsvWithQuotedFieldsAndMeterColumnsAsTheApisEvents() throws Exception {
        Path csv = dir.resolve("e.csv");
        Files.writeString(csv, """
                id,customer,feature,model,time,usage.input_tokens,output_tokens,source
                "a,1",cus_1,chat,gpt-4o,2026-11-01T10:00:00Z,1200,350,
                b,cus_2,chat,,2026-11-01T11:00:00Z,5,,svc
                """);

        BackfillFile file = BackfillFile.read(csv, FROM, TO, "export");

        assertThat(file.events()).hasSize(2);
        assertThat(file.events().get(0).number()).isEqualTo(2);
        assertThat(Json.MAPPER.writeValueAsString(file.events().get(0).event())).isEqualTo(
                "{\"id\":\"a,1\",\"customer\":\"cus_1\",\"feature\":\"chat\",\"model\":\"gpt-4o\",\"time\":\"2026-11-01T10:00:00Z\","
                        + "\"usage\":{\"input_tokens\":1200,\"output_tokens\":350},\"source\":\"export\"}");
        assertThat(file.events().get(1).event().path("source").asText()).isEqualTo("svc");
        assertThat(file.events().get(1).event().has("model")).isFalse();
    }

    @Test
    void namesTheLineOfEveryEventOutsideTheTimeframeOrWithoutATimeAndLoadsNothing() throws Exception {
        Path jsonl = dir.resolve("e.jsonl");
        Files.writeString(jsonl, """
                {"id": "ok", "customer": "c", "feature": "chat", "time": "2026-11-01T10:00:00Z", "usage": {"requests": 1}}
                {"id": "late", "customer": "c", "feature": "chat", "time": "2026-11-02T00:00:00Z", "usage": {"requests": 1}}

                {"id": "no-time", "customer": "c", "feature": "chat", "usage": {"requests": 1}}
                not json
                """);

        assertThatThrownBy(() -> BackfillFile.read(jsonl, FROM, TO, "export"))
                .hasMessageContaining("line 2: time 2026-11-02T00:00:00Z is outside the timeframe")
                .hasMessageContaining("line 4: time is required")
                .hasMessageContaining("line 5:");
    }

    @Test
    void twoEventsAreTheSameWhenTheySayTheSameWhateverTheirNumbersLookLike() throws Exception {
        var a = Json.MAPPER.readTree("{\"customer\": \"c\", \"feature\": \"chat\", \"time\": \"2026-11-01T10:00:00Z\", \"usage\": {\"r\": \"1.50\"}}");
        var b = Json.MAPPER.readTree("{\"customer\": \"c\", \"feature\": \"chat\", \"time\": \"2026-11-01T10:00:00.000Z\", \"usage\": {\"r\": 1.5}}");
        var c = Json.MAPPER.readTree("{\"customer\": \"c\", \"feature\": \"chat\", \"time\": \"2026-11-01T10:00:00Z\", \"usage\": {\"r\": 2}}");
        assertThat(BackfillFile.same(a, b)).isTrue();
        assertThat(BackfillFile.same(a, c)).isFalse();
    }
}

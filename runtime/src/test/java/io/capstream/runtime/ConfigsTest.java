package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ConfigsTest {
    static final ConfigDef DEF = Configs.withHttp(Configs.withKafka(new ConfigDef()), 8080);

    @TempDir
    Path dir;

    @Test
    void everyProblemIsReportedAtOnce() {
        assertThatThrownBy(() -> Configs.validate(DEF, Map.of("http.port", "99999", "auto.register.schemas", "perhaps")))
                .isInstanceOf(ConfigException.class)
                .hasMessageContaining("bootstrap.servers").hasMessageContaining("schema.registry.url")
                .hasMessageContaining("http.port").hasMessageContaining("auto.register.schemas");
    }

    @Test
    void environmentVariablesOverrideTheFileAndKafkaSettingsPassThrough() throws Exception {
        Path file = dir.resolve("svc.properties");
        Files.writeString(file, "http.port=8181\nbootstrap.servers=file:9092\nkafka.security.protocol=SSL\n");

        Map<String, String> raw = Configs.read(file, Map.of("CAPSTREAM_HTTP_PORT", "8282"), Map.of());

        assertThat(raw).containsEntry("http.port", "8282").containsEntry("bootstrap.servers", "file:9092");
        assertThat(Configs.kafkaPassThrough(raw)).containsEntry("security.protocol", "SSL");
    }

    @Test
    void hostListsAreTrimmedAndLowerCased() {
        assertThat(Configs.hosts(java.util.List.of(" LocalHost ", "", "127.0.0.1:8025"))).containsExactlyInAnyOrder("localhost", "127.0.0.1:8025");
    }
}

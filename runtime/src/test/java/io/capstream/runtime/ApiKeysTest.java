package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.time.Duration;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class ApiKeysTest {
    @TempDir
    Path dir;

    @Test
    void aKeyAddedToTheFileWorksWithoutARestartAndARevokedOneStops() throws Exception {
        // given a keys file with one key
        Path file = dir.resolve("keys.txt");
        Files.writeString(file, "old sha256:" + ApiKeys.hash("old-key") + " admin\n");
        ApiKeys keys = ApiKeys.fromFile(file);
        assertThat(keys.authenticate("Bearer old-key")).isPresent();

        // when the old key is replaced by a new one
        Files.writeString(file, "new sha256:" + ApiKeys.hash("new-key") + " ingest\n");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));

        // then within the reload interval the new key works and the old one does not
        await().atMost(Duration.ofSeconds(5)).until(() -> keys.authenticate("Bearer new-key").isPresent());
        assertThat(keys.authenticate("Bearer old-key")).isEmpty();
    }

    @Test
    void aBrokenFileKeepsTheKeysInForce() throws Exception {
        Path file = dir.resolve("keys.txt");
        Files.writeString(file, "old sha256:" + ApiKeys.hash("old-key") + " admin\n");
        ApiKeys keys = ApiKeys.fromFile(file);

        Files.writeString(file, "garbage\n");
        Files.setLastModifiedTime(file, FileTime.from(Instant.now().plusSeconds(5)));

        await().pollDelay(Duration.ofMillis(1200)).atMost(Duration.ofSeconds(5)).until(() -> keys.authenticate("Bearer old-key").isPresent());
    }
}

package io.capstream.schemas.topics;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class LatestByOffsetTest {
    @Test
    void aWriteRememberedAtOnceIsNotUndoneByAnOlderRecordReadLater() {
        // given this process wrote v2 at offset 8 and remembered it
        LatestByOffset<String> view = new LatestByOffset<>();
        view.apply("acme", "v2", 8);

        // when the reader catches up with the older v1 at offset 5, then the write stays
        view.apply("acme", "v1", 5);
        assertThat(view.get("acme")).contains("v2");

        // and a newer record (another instance's write) replaces it, a newer tombstone deletes it
        view.apply("acme", "v3", 9);
        assertThat(view.get("acme")).contains("v3");
        view.apply("acme", null, 10);
        assertThat(view.get("acme")).isEmpty();
    }

    @Test
    void anOlderTombstoneDoesNotDeleteANewerValue() {
        LatestByOffset<String> view = new LatestByOffset<>();
        view.apply("acme", "v2", 8);
        view.apply("acme", null, 3);
        assertThat(view.get("acme")).contains("v2");
    }
}

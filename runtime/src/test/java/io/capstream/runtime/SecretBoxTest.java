package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.Base64;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class SecretBoxTest {
    static String key(int fill) {
        byte[] k = new byte[32];
        java.util.Arrays.fill(k, (byte) fill);
        return Base64.getEncoder().encodeToString(k);
    }

    @Test
    void aSealedSecretHidesThePlaintextAndOpensWithItsKey() {
        SecretBox box = SecretBox.parse("k1:" + key(1));
        String sealed = box.seal("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");

        assertThat(sealed).startsWith("enc:v1:k1:").doesNotContain("MfKQ9r8");
        assertThat(box.seal(sealed)).isEqualTo(sealed);
        assertThat(box.open(sealed)).isEqualTo("whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw");
        assertThat(box.seal("same")).isNotEqualTo(box.seal("same")); // a fresh nonce each time
    }

    @Test
    void afterRotationNewSecretsUseTheNewKeyAndOldOnesStillOpen() {
        String old = SecretBox.parse("k1:" + key(1)).seal("whsec_old");
        SecretBox rotated = SecretBox.parse("k2:" + key(2) + ",k1:" + key(1));

        assertThat(rotated.open(old)).isEqualTo("whsec_old");
        assertThat(rotated.seal("whsec_new")).startsWith("enc:v1:k2:");
        assertThatThrownBy(() -> SecretBox.parse("k2:" + key(2)).open(old)).hasMessageContaining("not configured");
    }

    @Test
    void aTamperedSecretDoesNotOpenAndPlaintextFromBeforeEncryptionPassesThrough() {
        SecretBox box = SecretBox.parse("k1:" + key(1));
        String sealed = box.seal("whsec_x");
        String tampered = sealed.substring(0, sealed.length() - 4) + (sealed.endsWith("AAAA") ? "BBBB" : "AAAA");

        assertThatThrownBy(() -> box.open(tampered)).isInstanceOf(IllegalArgumentException.class);
        assertThat(box.open("whsec_plain")).isEqualTo("whsec_plain");
    }

    @Test
    void badKeySettingsAreRefusedWithoutShowingTheKey() {
        assertThatThrownBy(() -> SecretBox.parse("k1:" + Base64.getEncoder().encodeToString(new byte[16])))
                .isInstanceOf(ConfigException.class).hasMessageContaining("32");
        assertThatThrownBy(() -> SecretBox.parse("nokey")).isInstanceOf(ConfigException.class);
    }
}

package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.Optional;
import java.util.Set;
import org.apache.kafka.common.config.ConfigException;
import org.junit.jupiter.api.Test;

class PortalTokensTest {
    static final String KEY_A = "a:" + java.util.Base64.getEncoder().encodeToString(new byte[32]);
    static final String KEY_B = "b:" + java.util.Base64.getEncoder().encodeToString("0123456789abcdef0123456789abcdef".getBytes());
    static final Instant NOW = Instant.parse("2026-11-23T10:00:00Z");

    @Test
    void aTokenReadsAsItsCustomersKeyUntilItExpires() {
        PortalTokens tokens = PortalTokens.parse(KEY_A);
        String token = tokens.mint("acme", NOW.plusSeconds(3600));
        assertThat(token).startsWith("cpt_a.");
        assertThat(tokens.verify(token, NOW)).contains(new Principal("portal:acme", Set.of("customer:acme")));
        assertThat(tokens.verify(token, NOW).orElseThrow().canRead("acme")).isTrue();
        assertThat(tokens.verify(token, NOW).orElseThrow().canRead("globex")).isFalse();
        assertThat(tokens.verify(token, NOW.plusSeconds(3600))).isEmpty();
        assertThat(tokens.mint("acme", NOW.plusSeconds(60))).isNotEqualTo(tokens.mint("acme", NOW.plusSeconds(60)));
    }

    @Test
    void aChangedPayloadAnUnknownKeyOrGarbageIsRefused() {
        PortalTokens tokens = PortalTokens.parse(KEY_A);
        String token = tokens.mint("acme", NOW.plusSeconds(3600));
        String[] parts = token.split("\\.");
        String forged = parts[0] + "." + java.util.Base64.getUrlEncoder().withoutPadding()
                .encodeToString(("globex\n" + NOW.plusSeconds(3600).getEpochSecond() + "\nx").getBytes()) + "." + parts[2];
        assertThat(tokens.verify(forged, NOW)).isEmpty();
        assertThat(PortalTokens.parse(KEY_B).verify(token, NOW)).isEmpty();
        for (String junk : new String[] {"cpt_", "cpt_a", "cpt_a.b", "cpt_a.!!.!!", "cpt_a..", "cpt_zz.x.y", "cpt_a." + "x".repeat(600)}) {
            assertThat(tokens.verify(junk, NOW)).as(junk).isEmpty();
        }
    }

    @Test
    void keysRotateTheFirstSignsAndAllVerify() {
        String old = PortalTokens.parse(KEY_A).mint("acme", NOW.plusSeconds(60));
        PortalTokens rotated = PortalTokens.parse(KEY_B + "," + KEY_A);
        assertThat(rotated.verify(old, NOW)).isPresent();
        assertThat(rotated.mint("acme", NOW.plusSeconds(60))).startsWith("cpt_b.");
        assertThatThrownBy(() -> PortalTokens.parse("a:c2hvcnQ=")).isInstanceOf(ConfigException.class).hasMessageContaining("needs 32")
                .hasMessageNotContaining("c2hvcnQ");
    }

    @Test
    void apiKeysAcceptTokensOnlyWhenConfigured() {
        PortalTokens tokens = PortalTokens.parse(KEY_A);
        String header = "Bearer " + tokens.mint("acme", Instant.now().plusSeconds(60));
        ApiKeys keys = ApiKeys.parse("", "test");
        assertThat(keys.authenticate(header)).isEmpty();
        assertThat(keys.acceptingPortalTokens(Optional.of(tokens)).authenticate(header)).map(Principal::name).contains("portal:acme");
    }
}

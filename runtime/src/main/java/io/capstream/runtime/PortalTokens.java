package io.capstream.runtime;

import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.time.Duration;
import java.time.Instant;
import java.util.Base64;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import javax.crypto.Mac;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.common.config.ConfigDef;

/**
 * Customer portal tokens: signed, expiring bearer tokens scoped to one customer, minted by an admin
 * ({@code POST /v1/customers/{id}/portal-tokens}) for a page the customer opens, and accepted by every
 * API like a {@code customer:<id>} key ({@link ApiKeys#authenticate}). Nothing is stored: a token is
 * {@code cpt_<key id>.<base64url of customer, expiry, nonce>.<base64url of its HMAC-SHA256>}, verified
 * with the keys of {@value #KEYS} (the first signs, all verify, so keys rotate). A token cannot be
 * revoked before it expires except by removing its key; keep lifetimes short.
 */
public final class PortalTokens {
    public static final String KEYS = "portal.token.keys";
    public static final String PREFIX = "cpt_";
    /** The longest lifetime a token may be minted with. */
    public static final Duration MAX_TTL = Duration.ofDays(7);
    private static final SecureRandom RANDOM = new SecureRandom();
    private static final Base64.Encoder B64 = Base64.getUrlEncoder().withoutPadding();

    private final String signingId;
    private final Map<String, SecretKeySpec> keys;

    private PortalTokens(String signingId, Map<String, SecretKeySpec> keys) {
        this.signingId = signingId;
        this.keys = Map.copyOf(keys);
    }

    /** Adds the keys setting (optional: without it no token is minted or accepted; never logged). */
    public static ConfigDef define(ConfigDef def) {
        return def.define(KEYS, ConfigDef.Type.PASSWORD, null, (name, value) -> {
            if (value != null) {
                parse(((org.apache.kafka.common.config.types.Password) value).value());
            }
        }, ConfigDef.Importance.MEDIUM, "HMAC-SHA256 keys that sign customer portal tokens: '<key id>:<base64 of 32 random bytes>',"
                + " comma-separated; the first signs, all verify. Every service that should accept portal tokens needs the same keys.");
    }

    /** The setting's value, or empty when it is not set. */
    public static Optional<PortalTokens> from(Map<String, Object> validated) {
        Object value = validated.get(KEYS);
        return value == null ? Optional.empty() : Optional.of(parse(((org.apache.kafka.common.config.types.Password) value).value()));
    }

    public static PortalTokens parse(String setting) {
        Map<String, SecretKeySpec> keys = new java.util.LinkedHashMap<>();
        Keyring.parse(setting, KEYS).forEach((id, material) -> keys.put(id, new SecretKeySpec(material, "HmacSHA256")));
        return new PortalTokens(keys.keySet().iterator().next(), keys);
    }

    /** A token for {@code customer} that expires at {@code expiresAt}. */
    public String mint(String customer, Instant expiresAt) {
        byte[] nonce = new byte[12];
        RANDOM.nextBytes(nonce);
        String payload = B64.encodeToString((customer + '\n' + expiresAt.getEpochSecond() + '\n' + B64.encodeToString(nonce))
                .getBytes(StandardCharsets.UTF_8));
        String signed = PREFIX + signingId + '.' + payload;
        return signed + '.' + B64.encodeToString(mac(keys.get(signingId), signed));
    }

    /** The principal of a token that is well formed, signed with a configured key and not expired at {@code now}. */
    public Optional<Principal> verify(String token, Instant now) {
        if (token.length() > 512 || !token.startsWith(PREFIX)) {
            return Optional.empty();
        }
        int dot = token.indexOf('.');
        int last = token.lastIndexOf('.');
        if (dot < 0 || last == dot) {
            return Optional.empty();
        }
        SecretKeySpec key = keys.get(token.substring(PREFIX.length(), dot));
        if (key == null) {
            return Optional.empty();
        }
        String signed = token.substring(0, last);
        try {
            if (!MessageDigest.isEqual(mac(key, signed), Base64.getUrlDecoder().decode(token.substring(last + 1)))) {
                return Optional.empty();
            }
            String[] parts = new String(Base64.getUrlDecoder().decode(token.substring(dot + 1, last)), StandardCharsets.UTF_8).split("\n");
            if (parts.length != 3 || !Instant.ofEpochSecond(Long.parseLong(parts[1])).isAfter(now)) {
                return Optional.empty();
            }
            return Optional.of(new Principal("portal:" + parts[0], Set.of("customer:" + parts[0])));
        } catch (IllegalArgumentException e) { // not base64, not a number
            return Optional.empty();
        }
    }

    private static byte[] mac(SecretKeySpec key, String text) {
        try {
            Mac mac = Mac.getInstance("HmacSHA256");
            mac.init(key);
            return mac.doFinal(text.getBytes(StandardCharsets.UTF_8));
        } catch (GeneralSecurityException e) {
            throw new IllegalStateException("HmacSHA256 is missing from this JDK", e);
        }
    }
}

package io.capstream.runtime;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.security.GeneralSecurityException;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import javax.crypto.Cipher;
import javax.crypto.spec.GCMParameterSpec;
import javax.crypto.spec.SecretKeySpec;
import org.apache.kafka.common.config.ConfigDef;
import org.apache.kafka.common.config.ConfigException;

/**
 * Secrets kept at rest in topics (webhook signing secrets in {@code customers} and its changelogs),
 * sealed with AES-256-GCM. A sealed value reads {@code enc:v1:<key id>:<base64 of nonce and ciphertext>};
 * the key id names which configured key opens it, so keys rotate without rewriting old records: put the
 * new key first in {@value #KEYS} (it seals from then on) and keep the old ones after it until every
 * customer was written again. A value without the prefix is a plaintext secret from before encryption
 * and is returned as it is.
 */
public final class SecretBox {
    public static final String KEYS = "secret.keys";
    public static final String KEYS_DOC = "AES-256 keys that seal webhook secrets at rest: '<key id>:<base64 of 32 random bytes>', comma-separated;"
            + " the first seals, all open. Generate one: ./capstream secret-key (or: head -c 32 /dev/urandom | base64).";
    private static final String PREFIX = "enc:v1:";
    private static final int NONCE = 12;
    private static final SecureRandom RANDOM = new SecureRandom();

    private final String activeId;
    private final Map<String, SecretKeySpec> keys;

    private SecretBox(String activeId, Map<String, SecretKeySpec> keys) {
        this.activeId = activeId;
        this.keys = Map.copyOf(keys);
    }

    /** Adds the keys setting (required, never logged) to a service's configuration. */
    public static ConfigDef define(ConfigDef def) {
        return def.define(KEYS, ConfigDef.Type.PASSWORD, ConfigDef.NO_DEFAULT_VALUE, (name, value) -> {
            if (value != null) {
                parse(((org.apache.kafka.common.config.types.Password) value).value());
            }
        }, ConfigDef.Importance.HIGH, KEYS_DOC);
    }

    /** @throws ConfigException naming what is wrong with the setting (without the key material) */
    public static SecretBox parse(String setting) {
        Map<String, SecretKeySpec> keys = new LinkedHashMap<>();
        Keyring.parse(setting, KEYS).forEach((id, material) -> keys.put(id, new SecretKeySpec(material, "AES")));
        return new SecretBox(keys.keySet().iterator().next(), keys);
    }

    public static boolean isSealed(String value) {
        return value.startsWith(PREFIX);
    }

    /** The value sealed with the first key; a value already sealed is returned as it is. */
    public String seal(String plaintext) {
        if (isSealed(plaintext)) {
            return plaintext;
        }
        byte[] nonce = new byte[NONCE];
        RANDOM.nextBytes(nonce);
        byte[] sealed = crypt(Cipher.ENCRYPT_MODE, keys.get(activeId), nonce, activeId, plaintext.getBytes(StandardCharsets.UTF_8));
        return PREFIX + activeId + ":" + Base64.getEncoder().encodeToString(ByteBuffer.allocate(NONCE + sealed.length).put(nonce).put(sealed).array());
    }

    /** @throws IllegalArgumentException when no configured key opens the value (wrong key, tampered record) */
    public String open(String value) {
        if (!isSealed(value)) {
            return value;
        }
        String rest = value.substring(PREFIX.length());
        int colon = rest.indexOf(':');
        SecretKeySpec key = colon < 0 ? null : keys.get(rest.substring(0, colon));
        if (key == null) {
            throw new IllegalArgumentException("sealed with a key that is not configured in " + KEYS);
        }
        byte[] all = Base64.getDecoder().decode(rest.substring(colon + 1));
        byte[] nonce = java.util.Arrays.copyOf(all, NONCE);
        byte[] sealed = java.util.Arrays.copyOfRange(all, NONCE, all.length);
        return new String(crypt(Cipher.DECRYPT_MODE, key, nonce, rest.substring(0, colon), sealed), StandardCharsets.UTF_8);
    }

    private static byte[] crypt(int mode, SecretKeySpec key, byte[] nonce, String keyId, byte[] input) {
        try {
            Cipher cipher = Cipher.getInstance("AES/GCM/NoPadding");
            cipher.init(mode, key, new GCMParameterSpec(128, nonce));
            cipher.updateAAD(keyId.getBytes(StandardCharsets.UTF_8));
            return cipher.doFinal(input);
        } catch (GeneralSecurityException e) {
            throw new IllegalArgumentException("the secret cannot be opened: " + e.getClass().getSimpleName());
        }
    }
}

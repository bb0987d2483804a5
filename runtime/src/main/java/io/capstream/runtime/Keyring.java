package io.capstream.runtime;

import java.util.Base64;
import java.util.LinkedHashMap;
import java.util.Map;
import org.apache.kafka.common.config.ConfigException;

/**
 * A setting that lists 256-bit keys as {@code <key id>:<base64 of 32 bytes>}, comma-separated, the
 * first in use and the others still accepted (so keys rotate without a flag day). Problems are
 * reported without the key material.
 */
final class Keyring {
    private Keyring() {}

    /** The keys in order, by id. */
    static Map<String, byte[]> parse(String setting, String name) {
        Map<String, byte[]> keys = new LinkedHashMap<>();
        for (String entry : setting.split(",")) {
            String e = entry.strip();
            int colon = e.indexOf(':');
            if (colon <= 0 || !e.substring(0, colon).matches("[A-Za-z0-9_-]{1,32}")) {
                throw new ConfigException(name, "(hidden)", "each key is '<id>:<base64 of 32 bytes>', the id letters, digits, _ or -");
            }
            byte[] material;
            try {
                material = Base64.getDecoder().decode(e.substring(colon + 1));
            } catch (IllegalArgumentException ex) {
                throw new ConfigException(name, "(hidden)", "key '" + e.substring(0, colon) + "' is not base64");
            }
            if (material.length != 32) {
                throw new ConfigException(name, "(hidden)", "key '" + e.substring(0, colon) + "' has " + material.length + " bytes; it needs 32");
            }
            keys.put(e.substring(0, colon), material);
        }
        return keys;
    }
}

package io.capstream.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.HashMap;
import java.util.HexFormat;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * Bearer API keys, stored only as SHA-256 hashes. The keys file has one key a line:
 * {@code <name> sha256:<hex> <scope> [<scope> ...]}; blank lines and {@code #} comments are ignored.
 * A presented key is hashed and looked up by its hash, so the secret is never kept or compared.
 */
public final class ApiKeys {
    private final Map<String, Principal> byHash;

    private ApiKeys(Map<String, Principal> byHash) {
        this.byHash = Map.copyOf(byHash);
    }

    public static ApiKeys fromFile(Path file) {
        try {
            return parse(Files.readString(file), file.toString());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read API keys file " + file, e);
        }
    }

    public static ApiKeys parse(String text, String origin) {
        Map<String, Principal> byHash = new HashMap<>();
        List<String> errors = new ArrayList<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("\\s+");
            if (parts.length < 3 || !parts[1].startsWith("sha256:") || parts[1].length() != 7 + 64) {
                errors.add(origin + ":" + (i + 1) + ": expected '<name> sha256:<64 hex digits> <scope>...'");
                continue;
            }
            byHash.put(parts[1].substring(7).toLowerCase(), new Principal(parts[0], new LinkedHashSet<>(Arrays.asList(parts).subList(2, parts.length))));
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", errors));
        }
        return new ApiKeys(byHash);
    }

    /** The principal of an {@code Authorization} header value ({@code Bearer <key>}), if the key is known. */
    public Optional<Principal> authenticate(String authorization) {
        if (authorization == null || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        return Optional.ofNullable(byHash.get(hash(authorization.substring(7).strip())));
    }

    /** The hex SHA-256 of a key, as written in the keys file after {@code sha256:}. */
    public static String hash(String key) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(key.getBytes(StandardCharsets.UTF_8)));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("SHA-256 is missing from this JDK", e);
        }
    }
}

package io.capstream.runtime;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
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
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Bearer API keys, stored only as SHA-256 hashes. The keys file has one key a line:
 * {@code <name> sha256:<hex> <scope> [<scope> ...]}; blank lines and {@code #} comments are ignored.
 * A presented key is hashed and looked up by its hash, so the secret is never stored or compared; a key
 * that matched is remembered in memory for at most a second, so that it is not hashed on every request.
 *
 * <p>Keys read from a file follow the file: it is looked at again at most once per
 * {@link #RELOAD_INTERVAL_NANOS}, and a changed file replaces the keys at once (a key added, rotated or
 * revoked needs no restart). A file that no longer parses is reported in the log and the keys in force
 * stay, so a typo cannot lock everyone out.
 */
public final class ApiKeys {
    static final long RELOAD_INTERVAL_NANOS = 1_000_000_000L;
    private static final Logger LOG = LoggerFactory.getLogger(ApiKeys.class);

    private final Path file;
    private volatile Map<String, Principal> byHash;
    private volatile long checkedAt = System.nanoTime();
    private volatile FileTime modified;
    private volatile PortalTokens portalTokens;

    private ApiKeys(Map<String, Principal> byHash, Path file, FileTime modified) {
        this.byHash = Map.copyOf(byHash);
        this.file = file;
        this.modified = modified;
    }

    public static ApiKeys fromFile(Path file) {
        try {
            FileTime modified = Files.getLastModifiedTime(file);
            return new ApiKeys(read(Files.readString(file), file.toString()), file, modified);
        } catch (IOException e) {
            throw new UncheckedIOException("cannot read API keys file " + file, e);
        }
    }

    public static ApiKeys parse(String text, String origin) {
        return new ApiKeys(read(text, origin), null, null);
    }

    private static Map<String, Principal> read(String text, String origin) {
        Map<String, Principal> byHash = new HashMap<>();
        List<String> errors = new ArrayList<>();
        String[] lines = text.split("\n");
        for (int i = 0; i < lines.length; i++) {
            String line = lines[i].strip();
            if (line.isEmpty() || line.startsWith("#")) {
                continue;
            }
            String[] parts = line.split("\\s+");
            if (parts.length < 3 || !parts[1].startsWith("sha256:") || !parts[1].substring(7).matches("[0-9a-fA-F]{64}")) {
                errors.add(origin + ":" + (i + 1) + ": expected '<name> sha256:<64 hex digits> <scope>...'");
                continue;
            }
            byHash.put(parts[1].substring(7).toLowerCase(), new Principal(parts[0], new LinkedHashSet<>(Arrays.asList(parts).subList(2, parts.length))));
        }
        if (!errors.isEmpty()) {
            throw new IllegalArgumentException(String.join("\n", errors));
        }
        return byHash;
    }

    /** Accepts customer portal tokens signed with these keys as well (none: only the keys of the file). */
    public ApiKeys acceptingPortalTokens(Optional<PortalTokens> tokens) {
        this.portalTokens = tokens.orElse(null);
        return this;
    }

    /**
     * The principal of an {@code Authorization} header value ({@code Bearer <key>}), if the key is known
     * or is a valid portal token ({@link PortalTokens}).
     */
    public Optional<Principal> authenticate(String authorization) {
        if (authorization == null || authorization.length() > 1024 || !authorization.regionMatches(true, 0, "Bearer ", 0, 7)) {
            return Optional.empty();
        }
        if (authorization.startsWith(PortalTokens.PREFIX, 7)) {
            PortalTokens tokens = portalTokens;
            return tokens == null ? Optional.empty() : tokens.verify(authorization.substring(7).strip(), java.time.Instant.now());
        }
        reloadIfChanged();
        Recent recent = recent();
        Optional<Principal> known = recent.principals().get(authorization);
        if (known == null) {
            known = Optional.ofNullable(byHash.get(hash(authorization.substring(7).strip())));
            if (known.isPresent() && recent.principals().size() < RECENT_MAX) {
                recent.principals().put(authorization, known);
            }
        }
        return known;
    }

    /**
     * Headers of keys that authenticated within the last {@link #RELOAD_INTERVAL_NANOS}, so a service
     * checking thousands of times a second hashes its key once a second, not on every request. Only keys
     * that matched are kept, at most {@link #RECENT_MAX}, and the whole set is dropped every interval
     * and whenever the keys change: a revoked key stops working as soon as the file is read again.
     */
    private record Recent(long since, Map<String, Optional<Principal>> principals) {}

    private static final int RECENT_MAX = 10_000;
    private volatile Recent recent = new Recent(System.nanoTime(), new java.util.concurrent.ConcurrentHashMap<>());

    private Recent recent() {
        Recent current = recent;
        if (System.nanoTime() - current.since() >= RELOAD_INTERVAL_NANOS) {
            current = new Recent(System.nanoTime(), new java.util.concurrent.ConcurrentHashMap<>());
            recent = current;
        }
        return current;
    }

    private void reloadIfChanged() {
        long now = System.nanoTime();
        if (file == null || now - checkedAt < RELOAD_INTERVAL_NANOS) {
            return;
        }
        synchronized (this) {
            if (now - checkedAt < RELOAD_INTERVAL_NANOS) {
                return;
            }
            checkedAt = now;
            try {
                FileTime current = Files.getLastModifiedTime(file);
                if (current.equals(modified)) {
                    return;
                }
                Map<String, Principal> keys = read(Files.readString(file), file.toString());
                byHash = Map.copyOf(keys);
                recent = new Recent(System.nanoTime(), new java.util.concurrent.ConcurrentHashMap<>());
                modified = current;
                LOG.info("API keys reloaded from {}: {} key(s)", file, keys.size());
            } catch (IOException | IllegalArgumentException e) {
                LOG.error("API keys file {} changed but cannot be used; the keys in force stay: {}", file, e.getMessage());
            }
        }
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

package io.capstream.runtime;

import java.util.Set;

/**
 * Who made a request, by the API key's scopes (DESIGN 4.7): {@code ingest} (any customer) or
 * {@code ingest:<customer>} (only those listed), {@code check}, {@code customer:<id>}, {@code admin}.
 */
public record Principal(String name, Set<String> scopes) {
    public Principal {
        scopes = Set.copyOf(scopes);
    }

    public boolean isAdmin() {
        return scopes.contains("admin");
    }

    /** Whether this key may report usage at all. */
    public boolean canIngest() {
        return isAdmin() || scopes.contains("ingest") || scopes.stream().anyMatch(s -> s.startsWith("ingest:"));
    }

    /** Whether this key may report usage for this customer. */
    public boolean canIngestFor(String customer) {
        return isAdmin() || scopes.contains("ingest") || scopes.contains("ingest:" + customer);
    }

    /** Whether this key may read this customer's usage. */
    public boolean canRead(String customer) {
        return isAdmin() || scopes.contains("customer:" + customer);
    }
}

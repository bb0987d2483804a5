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

    /**
     * The one customer this key may report usage for, when it is scoped to exactly one ({@code ingest:<customer>}, no
     * {@code ingest} or {@code admin}): what it sends can be counted against that customer before it is read.
     */
    public java.util.Optional<String> onlyIngestCustomer() {
        if (isAdmin() || scopes.contains("ingest")) {
            return java.util.Optional.empty();
        }
        java.util.List<String> customers = scopes.stream().filter(s -> s.startsWith("ingest:")).map(s -> s.substring("ingest:".length())).toList();
        return customers.size() == 1 ? java.util.Optional.of(customers.getFirst()) : java.util.Optional.empty();
    }

    /** Whether this key may read this customer's usage. */
    public boolean canRead(String customer) {
        return isAdmin() || scopes.contains("customer:" + customer);
    }
}

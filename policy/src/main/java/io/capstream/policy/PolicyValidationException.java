package io.capstream.policy;

import java.util.List;

/** A policy document that cannot be used, with every problem found, each prefixed by its path. */
public final class PolicyValidationException extends RuntimeException {
    private final List<String> errors;

    public PolicyValidationException(List<String> errors) {
        super("invalid policy document: " + String.join("; ", errors));
        this.errors = List.copyOf(errors);
    }

    public List<String> errors() {
        return errors;
    }
}

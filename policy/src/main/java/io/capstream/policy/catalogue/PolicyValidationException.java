package io.capstream.policy.catalogue;

import io.capstream.policy.input.Problem;

import java.util.List;

/** A policy document that cannot be used, with every problem found, each with its path. */
public final class PolicyValidationException extends RuntimeException {
    private final List<Problem> problems;

    public PolicyValidationException(List<Problem> problems) {
        super("invalid policy document: " + String.join("; ", problems.stream().map(Problem::toString).toList()));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }

    /** Each problem as {@code path: message}, for people reading a terminal or a log. */
    public List<String> errors() {
        return problems.stream().map(Problem::toString).toList();
    }
}

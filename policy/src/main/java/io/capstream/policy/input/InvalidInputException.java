package io.capstream.policy.input;

import java.util.List;

/** Input refused with every problem found; the HTTP layer answers 400 {@code invalid_request} listing them. */
public final class InvalidInputException extends RuntimeException {
    private final List<Problem> problems;

    public InvalidInputException(List<Problem> problems) {
        super(problems.size() + " problem(s)" + (problems.isEmpty() ? "" : ": " + problems.get(0)
                + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more)" : "")));
        this.problems = List.copyOf(problems);
    }

    public List<Problem> problems() {
        return problems;
    }
}

package io.capstream.runtime;

import java.util.Map;

/**
 * An answer other than success, with its HTTP status, a stable machine-readable code, a sentence for
 * people and optional structured details. {@link HttpServer} turns it into
 * {@code {"error": {"code", "message", ...details}}} in one place.
 */
public class ApiException extends RuntimeException {
    private final int status;
    private final String code;
    private final Map<String, Object> details;
    private final Map<String, String> headers;

    public ApiException(int status, String code, String message) {
        this(status, code, message, Map.of(), Map.of());
    }

    public ApiException(int status, String code, String message, Map<String, Object> details, Map<String, String> headers) {
        // no stack trace: an answer is not a failure of the server (a 500 logs the exception behind it), and filling one in
        // was the largest part of what a refusal costs (a flood of 401s or 429s, docs/performance.md)
        super(message, null, false, false);
        this.status = status;
        this.code = code;
        this.details = Map.copyOf(details);
        this.headers = Map.copyOf(headers);
    }

    public static ApiException unauthorized() {
        return new ApiException(401, "unauthorized", "a valid API key is required: send 'Authorization: Bearer <key>'",
                Map.of(), Map.of("WWW-Authenticate", "Bearer realm=\"capstream\""));
    }

    /**
     * An answer lists at most this many problems; its message counts them all. A request is bounded in size, not in how many
     * problems it holds: a megabyte of unknown fields is sixty thousand of them, and listing each (with what was expected)
     * made a ten-megabyte answer.
     */
    public static final int MAX_LISTED_PROBLEMS = 100;

    /**
     * {@code status} {@code code}, its message "{@code N problem(s) in <where><outcome>}" and {@code errors} listing the first
     * {@link #MAX_LISTED_PROBLEMS} of {@code problems} (each as {@code toError} makes it).
     */
    public static <P> ApiException problems(int status, String code, String where, java.util.List<P> problems,
                                            java.util.function.Function<P, ?> toError, String outcome) {
        int n = problems.size();
        java.util.List<?> listed = problems.stream().limit(MAX_LISTED_PROBLEMS).map(toError).toList();
        return new ApiException(status, code, n + " problem(s) in " + where + (n > MAX_LISTED_PROBLEMS ? " (the first " + MAX_LISTED_PROBLEMS
                + " are listed)" : "") + outcome, Map.of("errors", listed), Map.of());
    }

    /** 400 {@code invalid_request} listing the problems as {@code {field, message}} (the first of them also in its message). */
    public static ApiException invalid(java.util.List<io.capstream.policy.input.Problem> problems) {
        return invalid(problems, "; nothing was changed");
    }

    /** The same for a read, which changes nothing anyway. */
    public static ApiException invalidQuery(java.util.List<io.capstream.policy.input.Problem> problems) {
        return invalid(problems, "");
    }

    private static ApiException invalid(java.util.List<io.capstream.policy.input.Problem> problems, String outcome) {
        String first = problems.isEmpty() ? "" : ": " + problems.get(0) + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more)" : "");
        return problems(400, "invalid_request", "the request" + first, problems, ApiException::error, outcome);
    }

    /** A problem as an answer lists it. */
    public static Map<String, String> error(io.capstream.policy.input.Problem p) {
        return Map.of("field", p.field(), "message", p.message());
    }

    public static ApiException forbidden(String message) {
        return new ApiException(403, "forbidden", message);
    }

    public static ApiException unavailable(String code, String message, int retryAfterSeconds) {
        return new ApiException(503, code, message, Map.of("retry_after", retryAfterSeconds),
                Map.of("Retry-After", Integer.toString(retryAfterSeconds)));
    }

    public int status() {
        return status;
    }

    public String code() {
        return code;
    }

    public Map<String, Object> details() {
        return details;
    }

    public Map<String, String> headers() {
        return headers;
    }
}

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

    /** 400 {@code invalid_request} listing every problem as {@code {field, message}}. */
    public static ApiException invalid(java.util.List<io.capstream.policy.input.Problem> problems) {
        java.util.List<Map<String, String>> errors = problems.stream().map(p -> Map.of("field", p.field(), "message", p.message())).toList();
        String first = problems.isEmpty() ? "" : ": " + problems.get(0) + (problems.size() > 1 ? " (and " + (problems.size() - 1) + " more)" : "");
        return new ApiException(400, "invalid_request", problems.size() + " problem(s) in the request" + first + "; nothing was changed",
                Map.of("errors", errors), Map.of());
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

package io.capstream.policy;

/** Usage the policy cannot price (an unknown model or an unpriced meter), naming the field at fault. */
public final class UnpriceableUsageException extends RuntimeException {
    private final String field;

    public UnpriceableUsageException(String field, String message) {
        super(field + ": " + message);
        this.field = field;
    }

    public String field() {
        return field;
    }
}

package io.capstream.policy.catalogue;

/** Usage the policy cannot price (an unknown model or an unpriced meter), naming the field at fault. */
public final class UnpriceableUsageException extends RuntimeException {
    private final String field;
    private final String reason;

    public UnpriceableUsageException(String field, String reason) {
        super(field + ": " + reason);
        this.field = field;
        this.reason = reason;
    }

    public String field() {
        return field;
    }

    /** What is wrong, without the field. */
    public String reason() {
        return reason;
    }
}

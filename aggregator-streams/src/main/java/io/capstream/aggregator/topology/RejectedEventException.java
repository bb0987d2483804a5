package io.capstream.aggregator.topology;

/**
 * An event the aggregator refuses (too late, unknown model, unpriced meter). The processing exception
 * handler sends the original record to the dead-letter topic with this reason.
 */
public final class RejectedEventException extends RuntimeException {
    private final String field;

    public RejectedEventException(String field, String reason) {
        super(field + ": " + reason);
        this.field = field;
    }

    public String field() {
        return field;
    }
}

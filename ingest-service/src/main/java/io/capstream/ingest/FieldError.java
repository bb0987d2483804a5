package io.capstream.ingest;

/** One problem with one event of a request: which event (its index in the batch), which field, and why. */
public record FieldError(int index, String field, String message) {}

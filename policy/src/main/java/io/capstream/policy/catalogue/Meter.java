package io.capstream.policy.catalogue;

/** A meter that is priced on its own, whatever the model (requests, GPU-seconds, storage). */
public record Meter(String name, UnitPrice price) {}

package io.capstream.policy.decision;

import java.nio.charset.StandardCharsets;
import java.util.Base64;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;

/**
 * Strict-mode reservation ids: {@code res_<customer id, URL-safe base64 without padding>_<token>}.
 * The customer is in the id so any aggregator instance can route a release to the customer's owner,
 * and so a reservation can only be made, settled or released for the customer it names. Sidecars mint
 * them ({@link #mint}), which makes a reservation idempotent and releasable before its answer arrives.
 */
public final class ReservationId {
    private static final String PREFIX = "res_";
    /** An id longer than this is not one (a customer id is at most 128 characters). */
    private static final int MAX_LENGTH = 256;

    private ReservationId() {}

    /** A new id for the customer, with a token of 16 random hex digits. */
    public static String mint(String customer) {
        return PREFIX + Base64.getUrlEncoder().withoutPadding().encodeToString(customer.getBytes(StandardCharsets.UTF_8))
                + "_" + String.format("%016x", ThreadLocalRandom.current().nextLong());
    }

    /** The customer an id names; empty if it is not a reservation id. (The base64 part may itself hold '_'; the token never does.) */
    public static Optional<String> customerOf(String id) {
        int bar = id.lastIndexOf('_');
        if (id.length() > MAX_LENGTH || !id.startsWith(PREFIX) || bar <= PREFIX.length() || !isToken(id.substring(bar + 1))) {
            return Optional.empty();
        }
        try {
            return Optional.of(new String(Base64.getUrlDecoder().decode(id.substring(PREFIX.length(), bar)), StandardCharsets.UTF_8));
        } catch (IllegalArgumentException e) {
            return Optional.empty();
        }
    }

    /** Whether {@code id} is a reservation id of {@code customer}. */
    public static boolean isFor(String id, String customer) {
        return customerOf(id).filter(customer::equals).isPresent();
    }

    /** 8 to 64 ASCII letters or digits. */
    private static boolean isToken(String token) {
        return token.length() >= 8 && token.length() <= 64 && token.chars().allMatch(c -> c < 128 && Character.isLetterOrDigit(c));
    }
}

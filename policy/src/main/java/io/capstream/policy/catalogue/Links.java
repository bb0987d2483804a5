package io.capstream.policy.catalogue;

import java.net.URLEncoder;
import java.nio.charset.StandardCharsets;
import java.util.Optional;

/**
 * The ways out of a limit, as URL templates with {@code {customer}} and {@code {limit}} placeholders:
 * raise the cap, upgrade the plan, top up credit.
 */
public record Links(Optional<String> raiseCap, Optional<String> upgrade, Optional<String> topUp) {
    public static final Links NONE = new Links(Optional.empty(), Optional.empty(), Optional.empty());

    public Optional<String> raiseCapFor(String customer, String limitId) {
        return raiseCap.map(t -> expand(t, customer, limitId));
    }

    public Optional<String> upgradeFor(String customer, String limitId) {
        return upgrade.map(t -> expand(t, customer, limitId));
    }

    public Optional<String> topUpFor(String customer, String limitId) {
        return topUp.map(t -> expand(t, customer, limitId));
    }

    private static String expand(String template, String customer, String limitId) {
        return template.replace("{customer}", URLEncoder.encode(customer, StandardCharsets.UTF_8))
                .replace("{limit}", URLEncoder.encode(limitId, StandardCharsets.UTF_8));
    }
}

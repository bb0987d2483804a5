package io.capstream.policy.limit;

import java.util.Locale;

/** What a limit counts: money ({@link #USD}) or the units of one meter ({@code requests}, {@code input_tokens}). */
public record Measure(String name) {
    public static final Measure USD = new Measure("USD");

    public static Measure of(String text) {
        if (text == null || text.isBlank() || text.equalsIgnoreCase("usd")) {
            return USD;
        }
        return new Measure(text.strip().toLowerCase(Locale.ROOT));
    }

    public boolean isMoney() {
        return this.equals(USD);
    }

    @Override
    public String toString() {
        return name;
    }
}

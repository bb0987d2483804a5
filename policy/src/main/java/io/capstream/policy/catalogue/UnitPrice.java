package io.capstream.policy.catalogue;

import java.math.BigDecimal;
import java.util.Locale;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * A price per single unit, parsed exactly from the way vendors write price lists:
 * {@code "2.50/1M"} (USD 2.50 per million units), {@code "0.40/1K"}, {@code "$0.0011"} (per unit),
 * {@code "3/1000"}. Suffixes K, M and B are 10^3, 10^6 and 10^9.
 */
public record UnitPrice(BigDecimal perUnit, long perUnitFixed) {
    private static final Pattern FORMAT =
            Pattern.compile("\\$?\\s*([0-9]+(?:\\.[0-9]+)?)\\s*(?:/\\s*([0-9]+)?\\s*([KMB])?)?");

    /** The most a single unit may cost, so that one event's cost always fits the running totals. */
    public static final BigDecimal MAX_PER_UNIT = new BigDecimal("1000");
    /**
     * Digits after the point of a price per unit ({@code "0.0375/1M"} is 0.0000000375, 10 digits). A cost
     * must be exact at the 18 decimals money is kept with, so a fractional quantity of a finely priced
     * meter can be refused by {@link Pricing#cost}.
     */
    public static final int MAX_SCALE = 12;

    public UnitPrice {
        if (perUnit.signum() < 0) {
            throw new IllegalArgumentException("a price cannot be negative: " + perUnit);
        }
    }

    /** A price per unit; {@code perUnitFixed} is the same in {@link io.capstream.policy.input.FixedPoint} (at most 12 digits: always exact). */
    public UnitPrice(BigDecimal perUnit) {
        this(perUnit, io.capstream.policy.input.FixedPoint.of(perUnit));
    }

    /** Parses a price; the message of the exception says what was expected. */
    public static UnitPrice parse(String text) {
        if (text.length() > 64) {
            throw new IllegalArgumentException("a price of at most 64 characters, e.g. \"2.50/1M\"");
        }
        Matcher m = FORMAT.matcher(text.trim().toUpperCase(Locale.ROOT));
        if (!m.matches() || (text.contains("/") && m.group(2) == null && m.group(3) == null)) {
            throw new IllegalArgumentException(
                    "'" + text + "' is not a price: write it as in a price list, e.g. \"2.50/1M\", \"0.40/1K\" or \"0.0011\"");
        }
        BigDecimal amount = new BigDecimal(m.group(1));
        BigDecimal per = m.group(2) == null ? BigDecimal.ONE : new BigDecimal(m.group(2));
        if (per.signum() == 0) {
            throw new IllegalArgumentException("'" + text + "' divides by zero units");
        }
        int exponent = m.group(3) == null ? 0 : switch (m.group(3)) {
            case "K" -> 3;
            case "M" -> 6;
            default -> 9;
        };
        BigDecimal units = per.scaleByPowerOfTen(exponent);
        // Exact: a price list's divisor is a power of ten times a small integer; anything that does
        // not divide exactly is refused instead of rounded.
        BigDecimal perUnit;
        try {
            perUnit = amount.divide(units).stripTrailingZeros();
        } catch (ArithmeticException e) {
            throw new IllegalArgumentException("'" + text + "' has no exact price per unit; use a divisor of 1, 1K, 1M or 1B");
        }
        if (perUnit.scale() > MAX_SCALE || perUnit.compareTo(MAX_PER_UNIT) > 0) {
            throw new IllegalArgumentException("'" + text + "' is " + perUnit.toPlainString() + " per unit; a price per unit is at most "
                    + MAX_PER_UNIT + " USD with at most " + MAX_SCALE + " digits after the point (e.g. \"0.0375/1M\" = 0.0000000375)");
        }
        return new UnitPrice(perUnit);
    }

    /** The cost of a quantity at this price, exactly. */
    public BigDecimal times(BigDecimal quantity) {
        return perUnit.multiply(quantity);
    }
}

package io.capstream.policy.input;

import java.math.BigDecimal;
import java.math.RoundingMode;
import java.util.regex.Pattern;

/**
 * Exact decimal conventions for money and quantities. Money is never a {@code double}: amounts are
 * {@link BigDecimal}s, stored on the wire with {@link #MONEY_SCALE} (USD) or {@link #QUANTITY_SCALE}
 * digits after the point, and written in JSON as strings.
 */
public final class Decimals {
    /** Digits after the point of a money amount on the wire: enough for $0.075 per million tokens times one token. */
    public static final int MONEY_SCALE = 18;
    /** Digits after the point of a usage quantity on the wire (GPU-seconds may be fractional). */
    public static final int QUANTITY_SCALE = 9;

    /**
     * How large and how fine a decimal from outside may be: at most {@code integerDigits} digits before
     * the point and {@code scale} after it (trailing zeros do not count). Checked before any arithmetic,
     * so a hostile {@code "1e10000000"} costs nothing, and so every accepted amount fits the wire types
     * (Avro {@code decimal(38, 18)} for money, {@code decimal(38, 9)} for quantities) with room for sums.
     */
    public record Bound(String what, int integerDigits, int scale) {}

    /** Money from outside (cap and grant amounts, estimated costs, plan prices): below 10^15 USD, at most 18 decimals. */
    public static final Bound MONEY = new Bound("an amount", 15, MONEY_SCALE);
    /** A quantity of one meter in one event or estimate: below 10^15 units, at most 9 decimals. */
    public static final Bound QUANTITY = new Bound("a quantity", 15, QUANTITY_SCALE);
    /** The largest amount the running totals hold: {@code decimal(38, 18)} has 20 digits before the point. */
    public static final BigDecimal MAX_TOTAL = BigDecimal.TEN.pow(38 - MONEY_SCALE);
    /** Longest decimal text read at all: anything longer is refused before it is parsed. */
    public static final int MAX_TEXT = 64;
    private static final Pattern DECIMAL = Pattern.compile("[0-9]+(\\.[0-9]+)?([eE][+-]?[0-9]{1,9})?|\\.[0-9]+");

    private Decimals() {}

    /** A decimal refused by {@link #parse}, with a sentence that says what is accepted. */
    public static final class OutOfBounds extends IllegalArgumentException {
        public OutOfBounds(String message) {
            super(message);
        }
    }

    /**
     * Reads a non-negative decimal written with ASCII digits ({@code "20.00"}, {@code "1.5e3"}) and checks
     * it against the bound before returning it: the one parser for money and quantities from outside.
     *
     * @throws OutOfBounds naming what is wrong: not a number, negative, too many digits after the point, too large
     */
    public static BigDecimal parse(String text, Bound bound) {
        String t = text.strip();
        if (t.length() > MAX_TEXT) {
            throw new OutOfBounds("a number of at most " + MAX_TEXT + " characters");
        }
        if (t.startsWith("-") && DECIMAL.matcher(t.substring(1)).matches()) {
            throw new OutOfBounds("must not be negative");
        }
        if (!DECIMAL.matcher(t.startsWith("+") ? t.substring(1) : t).matches()) {
            throw new OutOfBounds("'" + text + "' is not a decimal number");
        }
        try {
            return check(new BigDecimal(t), bound);
        } catch (NumberFormatException e) { // an exponent beyond the int range
            throw new OutOfBounds(bound.what() + " below 10^" + bound.integerDigits());
        }
    }

    /** Checks a decimal already read (a JSON number) against the bound; the same rules and messages as {@link #parse}. */
    public static BigDecimal check(BigDecimal value, Bound bound) {
        if (value.signum() < 0) {
            throw new OutOfBounds("must not be negative");
        }
        if (value.signum() == 0) {
            return BigDecimal.ZERO;
        }
        BigDecimal stripped = value.stripTrailingZeros();
        if (stripped.scale() > bound.scale()) {
            throw new OutOfBounds(bound.what() + " with at most " + bound.scale() + " digits after the point");
        }
        if (stripped.precision() - stripped.scale() > bound.integerDigits()) {
            throw new OutOfBounds(bound.what() + " below 10^" + bound.integerDigits() + " (" + BigDecimal.TEN.pow(bound.integerDigits()).toPlainString() + ")");
        }
        return value;
    }

    /** Whether a running total still fits the wire type. */
    public static boolean fitsTotal(BigDecimal total) {
        return total.abs().compareTo(MAX_TOTAL) < 0;
    }

    /** The amount at the wire scale for money; fails rather than rounds if it has more digits. */
    public static BigDecimal money(BigDecimal amount) {
        return amount.setScale(MONEY_SCALE, RoundingMode.UNNECESSARY);
    }

    /** The quantity at the wire scale; fails rather than rounds if it has more digits. */
    public static BigDecimal quantity(BigDecimal amount) {
        return amount.setScale(QUANTITY_SCALE, RoundingMode.UNNECESSARY);
    }

    /** Whether the quantity fits the wire scale without rounding. */
    public static boolean fitsQuantityScale(BigDecimal amount) {
        return amount.stripTrailingZeros().scale() <= QUANTITY_SCALE;
    }

    /** A money amount as people read it: no trailing zeros beyond the cents ("0.15", "20.00", "0.0000025"). */
    public static String formatMoney(BigDecimal amount) {
        BigDecimal stripped = amount.stripTrailingZeros();
        return (stripped.scale() < 2 ? stripped.setScale(2, RoundingMode.UNNECESSARY) : stripped).toPlainString();
    }

    /** A quantity as people read it: no trailing zeros, no exponent ("1200", "0.5"). */
    public static String formatQuantity(BigDecimal amount) {
        BigDecimal stripped = amount.stripTrailingZeros();
        return (stripped.scale() < 0 ? stripped.setScale(0, RoundingMode.UNNECESSARY) : stripped).toPlainString();
    }
}

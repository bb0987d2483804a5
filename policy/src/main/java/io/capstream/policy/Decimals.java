package io.capstream.policy;

import java.math.BigDecimal;
import java.math.RoundingMode;

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

    private Decimals() {}

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

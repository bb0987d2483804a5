package io.capstream.policy;

import io.capstream.policy.catalogue.UnitPrice;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.math.BigDecimal;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

class UnitPriceTest {
    @ParameterizedTest
    @CsvSource({
        "2.50/1M, 0.0000025",
        "0.15/1M, 0.00000015",
        "0.40/1K, 0.0004",
        "$0.0011, 0.0011",
        "3/1000, 0.003",
        "1.25/1B, 0.00000000125",
        "0, 0"
    })
    void parsesPriceListNotationExactly(String text, String perUnit) {
        assertThat(UnitPrice.parse(text).perUnit()).isEqualByComparingTo(new BigDecimal(perUnit));
    }

    @Test
    void refusesTextThatIsNotAPriceAndSaysWhatIsExpected() {
        assertThatThrownBy(() -> UnitPrice.parse("cheap"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("\"2.50/1M\"");
        assertThatThrownBy(() -> UnitPrice.parse("1/3"))
                .hasMessageContaining("no exact price per unit");
        assertThatThrownBy(() -> UnitPrice.parse("1/0")).hasMessageContaining("zero");
    }
}

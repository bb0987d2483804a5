package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.input.Fields;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/** The identifier rule read without a regex is the rule the regex states, on any string near its edges. */
class IdentifierTest {
    @Property(tries = 5_000)
    void theLoopAgreesWithThePattern(@ForAll("nearIdentifiers") String s) {
        assertThat(Fields.isIdentifier(s)).as("'%s'", s).isEqualTo(Fields.IDENTIFIER.matcher(s).matches());
    }

    @Provide
    Arbitrary<String> nearIdentifiers() {
        // the allowed characters, their neighbours in ASCII, and a few others, at lengths around the bound of 128
        return Arbitraries.strings().withChars("aZz09AM_.:@/-` [{~\n\u00e9\u0661").ofMinLength(0).ofMaxLength(130);
    }
}

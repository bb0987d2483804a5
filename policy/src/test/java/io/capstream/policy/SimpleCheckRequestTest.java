package io.capstream.policy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.core.JsonFactory;
import com.fasterxml.jackson.core.StreamReadFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.policy.input.Specs;
import java.math.BigDecimal;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/**
 * The check request read without a tree accepts only what the full reader accepts, with the same
 * result; everything else it leaves to the full reader, which names the problems.
 */
class SimpleCheckRequestTest {
    /** As the services read JSON: duplicate fields are refused (runtime's Json.MAPPER). */
    static final ObjectMapper MAPPER = new ObjectMapper(JsonFactory.builder().enable(StreamReadFeature.STRICT_DUPLICATE_DETECTION).build());

    static Optional<CheckRequest> simple(String body) {
        return Specs.simpleCheckRequest(MAPPER.getFactory(), body.getBytes(StandardCharsets.UTF_8));
    }

    @Test
    void theCommonShapeIsReadWithoutATree() {
        Optional<CheckRequest> read = simple("{\"customer\": \"acme\", \"user\": \"alice\", \"api_key\": \"key_1\", \"feature\": \"chat\","
                + " \"model\": \"gpt-4o\", \"estimate\": {\"input_tokens\": 1200, \"output_tokens\": \"400\"}, \"reserve\": false}");
        assertThat(read).contains(new CheckRequest("acme", "alice", "key_1", "chat", "gpt-4o",
                Map.of("input_tokens", new BigDecimal(1200), "output_tokens", new BigDecimal(400)), Optional.empty()));
    }

    @Test
    void anythingUnusualIsLeftToTheFullReader() {
        assertThat(simple("{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": {\"cost\": \"0.02\"}}")).isEmpty();
        assertThat(simple("{\"customer\": \"acme\", \"feature\": \"chat\", \"customer\": \"other\"}")).isEmpty();
        assertThat(simple("{\"customer\": \"acme\", \"feature\": \"chat\", \"colour\": \"red\"}")).isEmpty();
        assertThat(simple("{\"customer\": \"acme\", \"feature\": \"chat\", \"estimate\": {\"input_tokens\": -1}}")).isEmpty();
        assertThat(simple("{\"customer\": \"acme\"}")).isEmpty();
        assertThat(simple("{\"customer\": \"acme\", \"feature\": \"chat\"} []")).isEmpty();
    }

    @Property(tries = 3_000)
    void whatItAcceptsTheFullReaderAcceptsTheSame(@ForAll("bodies") String body) throws Exception {
        Optional<CheckRequest> fast = simple(body);
        net.jqwik.api.statistics.Statistics.label("read without a tree").collect(fast.isPresent());
        if (fast.isPresent()) {
            JsonNode tree = MAPPER.readTree(body);
            Specs specs = new Specs();
            Optional<CheckRequest> full = specs.checkRequest(tree);
            assertThat(specs.problems()).as(body).isEmpty();
            assertThat(full).as(body).isEqualTo(fast);
        }
    }

    @Provide
    Arbitrary<String> bodies() {
        Arbitrary<String> text = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.of("\"acme\"", "\"chat\"", "\"gpt-4o\"", "\"k@e.y/1:2\"", "\"" + "x".repeat(128) + "\"")),
                net.jqwik.api.Tuple.of(1, Arbitraries.of("\"a b\"", "\"\"", "null", "1", "true", "{}", "[]", "\"" + "x".repeat(129) + "\"",
                        "\"\u00e9\"", "\"-lead\"")));
        Arbitrary<String> quantity = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(4, Arbitraries.of("1200", "0", "\"2.5\"", "123456789012345", "\"1e3\"", "\"0.000000001\"")),
                net.jqwik.api.Tuple.of(1, Arbitraries.of("-1", "1.5", "1e400", "99999999999999999999", "1234567890123456", "null", "\"abc\"",
                        "\" 7 \"", "\"0.0000000001\"", "\"1.000000001\"", "{}", "true", "\"-2\"")));
        Arbitrary<String> meter = Arbitraries.frequencyOf(
                net.jqwik.api.Tuple.of(6, Arbitraries.of("input_tokens", "output_tokens", "x")),
                net.jqwik.api.Tuple.of(1, Arbitraries.of("cost", "bad key", "")));
        Arbitrary<String> estimate = Combinators.combine(meter, quantity).as((m, q) -> "\"" + m + "\": " + q).list().ofMaxSize(4)
                .map(entries -> "{" + String.join(", ", entries) + "}");
        Arbitrary<String> flag = Arbitraries.of("true", "false", "1", "null");
        Arbitrary<java.util.Set<String>> fields = Arbitraries.subsetOf("model", "user", "api_key", "estimate", "reserve", "colour");
        Arbitrary<Boolean> required = Arbitraries.frequency(net.jqwik.api.Tuple.of(9, true), net.jqwik.api.Tuple.of(1, false));
        return Combinators.combine(fields, required, text.list().ofSize(8), estimate, flag, Arbitraries.of("", "", "", "", " []", "}"))
                .as((fs, req, texts, est, b, tail) -> {
                    List<String> all = new ArrayList<>();
                    if (req) {
                        all.add("\"customer\": " + texts.get(0));
                        all.add("\"feature\": " + texts.get(1));
                    }
                    int i = 2;
                    for (String f : fs) {
                        all.add("\"" + f + "\": " + (f.equals("estimate") ? est : f.equals("reserve") ? b : texts.get(i++)));
                    }
                    java.util.Collections.shuffle(all, new java.util.Random(all.size()));
                    return "{" + String.join(", ", all) + "}" + tail;
                });
    }
}

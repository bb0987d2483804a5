package io.capstream.aggregator.it;

import java.math.BigDecimal;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Deterministic test traffic and its expected exact cost per customer, computed from the price list
 * of {@code test-policy.yaml} with plain decimal arithmetic (independently of the pricing code).
 */
final class Traffic {
    static final String[] MODELS = {"gpt-4o", "gpt-4o-mini", "claude-sonnet"};
    static final String[][] PRICES_PER_MILLION = {{"2.50", "10.00"}, {"0.15", "0.60"}, {"3.00", "15.00"}};
    static final String[] FEATURES = {"chat", "drafts", "deep_research"};

    final List<String> eventJson = new ArrayList<>();
    final Map<String, BigDecimal> expectedCost = new HashMap<>();

    Traffic(String customerPrefix, int customers, int events, long seed) {
        Random random = new Random(seed);
        Instant now = Instant.now();
        for (int i = 0; i < events; i++) {
            String customer = customerPrefix + (i % customers);
            int m = random.nextInt(MODELS.length);
            long input = 1 + random.nextInt(5000);
            long output = random.nextInt(2000);
            BigDecimal cost = new BigDecimal(PRICES_PER_MILLION[m][0]).multiply(BigDecimal.valueOf(input))
                    .add(new BigDecimal(PRICES_PER_MILLION[m][1]).multiply(BigDecimal.valueOf(output)))
                    .movePointLeft(6);
            expectedCost.merge(customer, cost, BigDecimal::add);
            eventJson.add("{\"id\":\"evt-" + seed + "-" + i + "\",\"customer\":\"" + customer + "\",\"feature\":\""
                    + FEATURES[random.nextInt(FEATURES.length)] + "\",\"model\":\"" + MODELS[m] + "\",\"time\":\"" + now
                    + "\",\"usage\":{\"input_tokens\":" + input + ",\"output_tokens\":" + output + "}}");
        }
    }

    /** The events as JSON batches of {@code size}. */
    List<String> batches(int size) {
        List<String> batches = new ArrayList<>();
        for (int i = 0; i < eventJson.size(); i += size) {
            batches.add("[" + String.join(",", eventJson.subList(i, Math.min(eventJson.size(), i + size))) + "]");
        }
        return batches;
    }
}

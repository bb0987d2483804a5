package io.capstream.systemtests;

import io.capstream.schemas.Quantity;
import io.capstream.schemas.UsageEvent;
import java.math.BigDecimal;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

/**
 * Deterministic test traffic and its expected exact cost per customer (and per customer and feature),
 * computed from the price list of the test policies with plain decimal arithmetic, independently of
 * the pricing code.
 */
final class Traffic {
    static final String[] MODELS = {"gpt-4o", "gpt-4o-mini", "claude-sonnet"};
    static final String[][] PRICES_PER_MILLION = {{"2.50", "10.00"}, {"0.15", "0.60"}, {"3.00", "15.00"}};
    static final String[] FEATURES = {"chat", "drafts", "deep_research"};

    final List<UsageEvent> events = new ArrayList<>();
    final List<String> eventJson = new ArrayList<>();
    final Map<String, BigDecimal> expectedCost = new HashMap<>();
    final Map<String, BigDecimal> expectedCostByFeature = new HashMap<>();

    /** Events at the current time. */
    Traffic(String customerPrefix, int customers, int count, long seed) {
        this(customerPrefix, customers, count, seed, Instant.now(), Duration.ZERO);
    }

    /** Events at {@code start}, {@code start + step}, ... */
    Traffic(String customerPrefix, int customers, int count, long seed, Instant start, Duration step) {
        Random random = new Random(seed);
        for (int i = 0; i < count; i++) {
            String customer = customerPrefix + (i % customers);
            int m = random.nextInt(MODELS.length);
            long input = 1 + random.nextInt(5000);
            long output = random.nextInt(2000);
            String feature = FEATURES[random.nextInt(FEATURES.length)];
            Instant time = start.plus(step.multipliedBy(i));
            BigDecimal cost = new BigDecimal(PRICES_PER_MILLION[m][0]).multiply(BigDecimal.valueOf(input))
                    .add(new BigDecimal(PRICES_PER_MILLION[m][1]).multiply(BigDecimal.valueOf(output)))
                    .movePointLeft(6);
            expectedCost.merge(customer, cost, BigDecimal::add);
            expectedCostByFeature.merge(customer + "|" + feature, cost, BigDecimal::add);
            String id = "evt-" + seed + "-" + i;
            events.add(UsageEvent.newBuilder().setId(id).setSource("").setCustomer(customer).setFeature(feature).setModel(MODELS[m])
                    .setTime(time)
                    .setUsage(List.of(new Quantity("input_tokens", null, BigDecimal.valueOf(input).setScale(9)),
                            new Quantity("output_tokens", null, BigDecimal.valueOf(output).setScale(9))))
                    .build());
            eventJson.add("{\"id\":\"" + id + "\",\"customer\":\"" + customer + "\",\"feature\":\"" + feature + "\",\"model\":\""
                    + MODELS[m] + "\",\"time\":\"" + time + "\",\"usage\":{\"input_tokens\":" + input + ",\"output_tokens\":" + output + "}}");
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

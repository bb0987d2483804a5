package io.capstream.policy;

import java.math.BigDecimal;
import java.util.Map;
import java.util.Optional;

/**
 * A service asking, before a billable request, whether it may go ahead.
 *
 * @param estimate      expected quantities per meter (priced with the policy), or empty
 * @param estimatedCost the expected cost in USD, when the caller knows it better than the estimate
 */
public record CheckRequest(String customer, String user, String apiKey, String feature, String model,
                           Map<String, BigDecimal> estimate, Optional<BigDecimal> estimatedCost) {
    public CheckRequest {
        estimate = Map.copyOf(estimate);
    }
}

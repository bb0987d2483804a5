package io.capstream.policy.decision;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.Pricing;
import io.capstream.policy.catalogue.UnpriceableUsageException;
import io.capstream.policy.input.InvalidInputException;
import io.capstream.policy.input.Problem;
import io.capstream.policy.input.Specs;

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

    /**
     * What the policy cannot price in this request, as {@code field: message}: an unknown model, or an
     * estimated meter with no price. A request the policy cannot price would be priced at nothing and
     * let through, so it is refused instead.
     */
    public java.util.List<Problem> problems(PolicyDocument policy) {
        if (model != null && policy.model(model).isEmpty()) {
            return java.util.List.of(new Problem("model", "unknown model '" + model + "'; known: " + new java.util.TreeSet<>(policy.models().keySet())));
        }
        try {
            Pricing.check(policy, model, estimate);
            return java.util.List.of();
        } catch (UnpriceableUsageException e) {
            return java.util.List.of(new Problem(e.field().replaceFirst("^usage", "estimate"), e.reason()));
        }
    }

    /**
     * A check (or reservation) request read from its JSON body, and checked against the policy in force
     * when one is given: the one place check requests are parsed.
     *
     * @throws InvalidInputException listing every problem
     */
    public static CheckRequest read(com.fasterxml.jackson.databind.JsonNode body, java.util.Optional<PolicyDocument> policy) {
        Specs specs = new Specs();
        return priceable(specs.require(specs.checkRequest(body)), policy);
    }

    /**
     * A request read without a tree ({@link Specs#simpleCheckRequest}) checked against the policy in force as
     * {@link #read} checks it.
     *
     * @throws InvalidInputException naming what the policy cannot price
     */
    public static CheckRequest priceable(CheckRequest request, java.util.Optional<PolicyDocument> policy) {
        java.util.List<Problem> problems = policy.isPresent() ? request.problems(policy.get()) : java.util.List.of();
        if (!problems.isEmpty()) {
            throw new InvalidInputException(problems);
        }
        return request;
    }
}

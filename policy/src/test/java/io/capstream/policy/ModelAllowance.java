package io.capstream.policy;

import io.capstream.policy.booking.Accounting;
import io.capstream.policy.catalogue.Links;
import io.capstream.policy.catalogue.Plan;
import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.decision.Decision;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;

import java.math.BigDecimal;
import java.time.ZoneId;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * A kind of limit that exists only in tests: up to {@code tokens} input tokens a day on one model,
 * blocking beyond. Shared (test-jar) with the modules that show a new kind needs no edit to their loops.
 */
public record ModelAllowance(String model, BigDecimal tokens) implements Limit.Custom {
    @Override public String limitId() { return "model:" + model; }
    @Override public String kind() { return "model_allowance"; }
    @Override public String displayLabel() { return model + " tokens"; }
    @Override public String feature() { return null; }
    @Override public Measure measure() { return Measure.of("input_tokens"); }
    @Override public BigDecimal amount() { return tokens; }
    @Override public List<BigDecimal> thresholds() { return List.of(new BigDecimal("0.5"), BigDecimal.ONE); }
    @Override public LimitAction action() { return LimitAction.BLOCK; }
    @Override public ResetSchedule period() { return ResetSchedule.parse("daily"); }
    @Override public Optional<ZoneId> timezone() { return Optional.empty(); }
    @Override public boolean matches(String feature, String model, String user, String apiKey) { return this.model.equals(model); }
    @Override public BigDecimal counted(Accounting.Split split, Map<String, BigDecimal> usage) { return estimated(split.cost(), usage); }
    @Override public Decision.Code refusalCode() { return Decision.Code.PLAN_ALLOWANCE_EXHAUSTED; }
    @Override public WayOut wayOut() { return WayOut.UPGRADE; }

    /** A policy whose plan {@code pro} has only this kind of limit, on gpt-4o (1,000 tokens a day); models gpt-4o and mini. */
    public static PolicyDocument policy() {
        PolicyDocument catalogue = PolicyLoader.fromYaml("models: {gpt-4o: {prices: {input_tokens: \"2.50/1M\"}}, mini: {prices: {input_tokens: \"0.15/1M\"}}}");
        Plan plan = new Plan("pro", BigDecimal.TEN, java.util.Set.of("standard"), Map.of(), Map.of(), List.of(), true,
                List.of(new ModelAllowance("gpt-4o", new BigDecimal("1000"))));
        return new PolicyDocument(catalogue.models(), catalogue.meters(), Map.of("pro", plan), Links.NONE, Optional.of("pro"));
    }
}

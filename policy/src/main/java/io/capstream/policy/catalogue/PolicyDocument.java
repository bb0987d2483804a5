package io.capstream.policy.catalogue;

import io.capstream.policy.limit.Measure;

import java.util.Map;
import java.util.Optional;

/**
 * The policy document: the model catalogue, the other priced meters, the plans (the quota matrix),
 * the links that show the way out of a limit, and the plan of customers nobody configured.
 * Loaded from YAML by {@link PolicyLoader}; immutable.
 */
public record PolicyDocument(Map<String, Model> models, Map<String, Meter> meters, Map<String, Plan> plans, Links links,
                             Optional<String> defaultPlan) {
    public PolicyDocument {
        models = Map.copyOf(models);
        meters = Map.copyOf(meters);
        plans = Map.copyOf(plans);
    }

    public PolicyDocument(Map<String, Model> models, Map<String, Meter> meters) {
        this(models, meters, Map.of(), Links.NONE, Optional.empty());
    }

    public Optional<Model> model(String name) {
        return Optional.ofNullable(models.get(name));
    }

    public Optional<Meter> meter(String name) {
        return Optional.ofNullable(meters.get(name));
    }

    public Optional<Plan> plan(String name) {
        return name == null ? Optional.empty() : Optional.ofNullable(plans.get(name));
    }

    /** Whether a measure is USD or a meter that some model or the meter list prices. */
    public boolean knowsMeasure(Measure measure) {
        return measure.isMoney() || meters.containsKey(measure.name())
                || models.values().stream().anyMatch(m -> m.prices().containsKey(measure.name()));
    }
}

package io.capstream.policy;

import java.util.Map;
import java.util.Optional;

/**
 * The policy document: the model catalogue and the other priced meters. Loaded from YAML by
 * {@link PolicyLoader}; immutable.
 */
public record PolicyDocument(Map<String, Model> models, Map<String, Meter> meters) {
    public PolicyDocument {
        models = Map.copyOf(models);
        meters = Map.copyOf(meters);
    }

    public Optional<Model> model(String name) {
        return Optional.ofNullable(models.get(name));
    }

    public Optional<Meter> meter(String name) {
        return Optional.ofNullable(meters.get(name));
    }
}

package io.capstream.policy.catalogue;

import java.util.Map;
import java.util.Optional;

/** A model in the catalogue: its price per meter, its tier, and the cheaper model it can be downgraded to. */
public record Model(String name, Map<String, UnitPrice> prices, String tier, Optional<String> downgradeTo) {
    public Model {
        prices = Map.copyOf(prices);
    }
}

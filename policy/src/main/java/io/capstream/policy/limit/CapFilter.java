package io.capstream.policy.limit;

import java.util.Objects;

/**
 * Which usage a cap counts; a null field matches everything. A cap scoped to one user or API key
 * limits that user or key within the tenant.
 */
public record CapFilter(String feature, String model, String user, String apiKey) {
    public static final CapFilter ALL = new CapFilter(null, null, null, null);

    public boolean matches(String feature, String model, String user, String apiKey) {
        return (this.feature == null || this.feature.equals(feature))
                && (this.model == null || this.model.equals(model))
                && (this.user == null || this.user.equals(user))
                && (this.apiKey == null || this.apiKey.equals(apiKey));
    }

    public boolean isAll() {
        return Objects.equals(this, ALL);
    }
}

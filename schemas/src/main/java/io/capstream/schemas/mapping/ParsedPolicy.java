package io.capstream.schemas.mapping;

import io.capstream.policy.catalogue.PolicyDocument;
import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.schemas.PolicyRecord;

/** The last policy version parsed, so that a reader parses the YAML only when the version changed. Thread-safe. */
public final class ParsedPolicy {
    private record Parsed(String version, PolicyDocument document) {}

    private volatile Parsed last;

    public PolicyDocument parse(PolicyRecord record) {
        Parsed current = last;
        if (current == null || !current.version().equals(record.getVersion())) {
            current = new Parsed(record.getVersion(), PolicyLoader.fromYaml(record.getSource()));
            last = current;
        }
        return current.document();
    }
}

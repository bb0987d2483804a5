package io.capstream.deploy;

import io.capstream.policy.catalogue.PolicyLoader;
import io.capstream.policy.catalogue.PolicyValidationException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code policy-check FILE}: validates a policy document without publishing it (no cluster needed). */
@Command(name = "policy-check", description = "Validate a policy document (YAML) without publishing it.")
final class PolicyCheckCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", description = "The policy document (YAML).")
    Path file;

    @Override
    public Integer call() throws Exception {
        try {
            PolicyLoader.fromYaml(Files.readString(file));
            spec.commandLine().getOut().println(file + " is a valid policy document");
            return 0;
        } catch (PolicyValidationException e) {
            return PolicyCommand.invalid(spec.commandLine().getErr(), file + " is not a valid policy document:", e);
        }
    }
}

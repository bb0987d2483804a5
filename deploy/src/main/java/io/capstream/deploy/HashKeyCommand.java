package io.capstream.deploy;

import io.capstream.runtime.ApiKeys;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;
import picocli.CommandLine.Model.CommandSpec;

/** Prints the keys-file line for an API key, so that only its hash is stored. */
@Command(name = "hash-key", description = "Print the keys-file line for an API key: <name> sha256:<hex> <scopes>.")
final class HashKeyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", description = "A name for the key (for logs).")
    String name;

    @Parameters(index = "1", description = "The secret key.")
    String key;

    @Parameters(index = "2..*", arity = "1..*", description = "Scopes: ingest, ingest:<customer>, check, customer:<id>, admin.")
    java.util.List<String> scopes;

    @Override
    public Integer call() {
        spec.commandLine().getOut().println(name + " sha256:" + ApiKeys.hash(key) + " " + String.join(" ", scopes));
        return 0;
    }
}

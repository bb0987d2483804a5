package io.capstream.deploy;

import picocli.CommandLine.Option;

/** Where a running stack answers, and the key to talk to it with: shared by the commands that send it traffic. */
final class StackOptions {
    @Option(names = "--ingest-url", defaultValue = "http://localhost:8080")
    String ingestUrl;

    @Option(names = "--query-url", defaultValue = "http://localhost:8081")
    String queryUrl;

    @Option(names = "--key", required = true, description = "An API key with the ingest and admin scopes.")
    String key;
}

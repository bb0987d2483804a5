package io.capstream.deploy;

import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code capstream-admin}: the operator's tools (the {@code ./capstream} script calls them). */
@Command(name = "capstream-admin", mixinStandardHelpOptions = true,
        subcommands = {SetupCommand.class, PolicyCommand.class, DemoCommand.class, DevSinkCommand.class, HashKeyCommand.class, PolicyCheckCommand.class, SoakCommand.class,
                ReportCommand.class, BackfillCommand.class},
        description = "Capstream operator tools.")
public final class Cli {
    public static void main(String[] args) {
        int code = new CommandLine(new Cli()).execute(args);
        if (code != 0) {
            Runtime.getRuntime().halt(code);
        }
    }
}

package io.capstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/**
 * The packaged jar on exactly the classpath {@code ./capstream} runs the stack with ({@code target/stack.classpath}):
 * a dependency that reaches only the tests' classpath (a test-scoped declaration shadows a library's compile-scoped
 * one) breaks the local stack while every other test passes — it once left the services without the YAML parser.
 */
class StackClasspathIT {
    @Test
    void theStackClasspathParsesThePolicyDocument() throws Exception {
        assertThat(run("policy-check", Path.of("config", "policy.yaml").toString())).contains("is a valid policy document");
    }

    private static String run(String... args) throws Exception {
        Path jar;
        try (var jars = Files.list(Path.of("target"))) {
            jar = jars.filter(p -> p.getFileName().toString().matches("capstream-deploy-.*\\.jar")).findFirst().orElseThrow();
        }
        String classpath = jar + File.pathSeparator + Files.readString(Path.of("target", "stack.classpath")).strip();
        String java = ProcessHandle.current().info().command().orElse("java");
        List<String> command = new ArrayList<>(List.of(java, "-cp", classpath, Cli.class.getName()));
        command.addAll(List.of(args));
        Process p = new ProcessBuilder(command).redirectErrorStream(true).start();
        String output = new String(p.getInputStream().readAllBytes());
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(output).isZero();
        return output;
    }
}

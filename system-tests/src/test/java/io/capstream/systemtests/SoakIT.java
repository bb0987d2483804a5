package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.deploy.Cli;
import io.capstream.testkit.FreePort;
import java.awt.image.BufferedImage;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import picocli.CommandLine;

/**
 * {@code ./capstream soak}, shortened: a minute of steady traffic through ingest into an aggregator process, sampled every
 * 15 s. The command's own verdict (totals exact, memory and lag flat) must pass, and the CSV and chart must hold real
 * figures: the aggregator's heap after GC (through the attach API), RocksDB's size, the group's lag, the freshness.
 */
class SoakIT {
    @Test
    void aShortSoakPassesAndWritesItsFiguresAndChart() throws Exception {
        try (Stack stack = new Stack("soak")) {
            int port = FreePort.pick();
            Process aggregator = stack.aggregatorProcess(0, port, Map.of(), "soak-aggregator");
            try {
                Stack.awaitReady(port);
                Path out = stack.dir.resolve("soak");
                StringWriter output = new StringWriter();
                int code = new CommandLine(new Cli()).setOut(new PrintWriter(output, true)).setErr(new PrintWriter(output, true)).execute(
                        "soak", "--key", Stack.ADMIN_KEY, "--ingest-url", "http://127.0.0.1:" + stack.ingest.port(),
                        "--query-url", "http://127.0.0.1:" + port, "--bootstrap-servers", stack.bootstrap,
                        "--topic-prefix", stack.topics.prefix(), "--minutes", "1", "--sample-seconds", "15", "--rate", "200",
                        "--customers", "50", "--model", "gpt-4o-mini", "--process", "aggregator=" + aggregator.pid(),
                        "--aggregator-metrics", "http://127.0.0.1:" + port + "/metrics", "--out", out.toString());
                assertThat(code).as(output.toString()).isZero();
                assertThat(output.toString()).contains("PASSED", "totals exact");

                List<String> csv = Files.readAllLines(out.resolve("soak.csv"));
                List<String> header = Arrays.asList(csv.get(0).split(","));
                assertThat(header).contains("heap_after_gc_mib_aggregator", "rocksdb_mib", "lag_" + stack.applicationId, "freshness_p99_ms");
                assertThat(csv).hasSize(1 + 4);
                for (String line : csv.subList(1, csv.size())) {
                    List<String> row = Arrays.asList(line.split(",", -1));
                    assertThat(Double.parseDouble(row.get(header.indexOf("accepted_per_s")))).isBetween(150.0, 250.0);
                    assertThat(Double.parseDouble(row.get(header.indexOf("heap_after_gc_mib_aggregator")))).isBetween(1.0, 384.0);
                    assertThat(Long.parseLong(row.get(header.indexOf("lag_" + stack.applicationId)))).isNotNegative();
                    assertThat(Double.parseDouble(row.get(header.indexOf("freshness_p99_ms")))).isPositive();
                }
                // the metrics binder exports a new store's figures within a minute of the aggregator's start
                String rocksDb = csv.get(csv.size() - 1).split(",", -1)[header.indexOf("rocksdb_mib")];
                assertThat(Double.parseDouble(rocksDb)).isPositive();
                BufferedImage chart = ImageIO.read(out.resolve("soak.png").toFile());
                assertThat(chart.getWidth()).isEqualTo(1280);
                assertThat(chart.getHeight()).isEqualTo(800);
            } finally {
                aggregator.destroy();
                aggregator.waitFor(30, TimeUnit.SECONDS);
            }
        }
    }
}

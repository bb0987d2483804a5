package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementService;
import io.capstream.notifier.NotifierConfig;
import io.capstream.notifier.NotifierService;
import io.capstream.schemas.serde.RegistryAvroSerde;
import io.capstream.testkit.FreePort;
import io.capstream.testkit.SharedStack;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.apache.kafka.streams.KafkaStreams;
import org.junit.jupiter.api.Test;

/**
 * The operations kit (deploy/monitoring: Prometheus alert rules, a Grafana dashboard) names only metrics
 * the services really export: every service started, a little traffic, each one's /metrics scraped.
 */
class OperationsKitIT {
    static final Pattern METRIC = Pattern.compile("\\b((?:capstream|kafka|jvm|process)_[a-z0-9_]+)\\b");

    @Test
    void everyMetricTheAlertsAndTheDashboardNameIsExportedByARunningService() throws Exception {
        Stack stack = new Stack("opskit");
        try (AggregatorService aggregator = stack.aggregator(0);
             EnforcementService sidecar = stack.sidecar(aggregator.port(), 100);
             NotifierService notifier = new NotifierService(NotifierConfig.from(Map.of(
                     NotifierConfig.BOOTSTRAP_SERVERS, SharedStack.kafka().bootstrapServers(),
                     RegistryAvroSerde.REGISTRY_URL, SharedStack.registry().url(), RegistryAvroSerde.AUTO_REGISTER, "true",
                     NotifierConfig.TOPIC_PREFIX, stack.topics.prefix(), NotifierConfig.HTTP_HOST, "127.0.0.1", NotifierConfig.HTTP_PORT, "0",
                     NotifierConfig.SMTP_HOST, "127.0.0.1", NotifierConfig.SMTP_PORT, Integer.toString(FreePort.pick()),
                     "secret.keys", io.capstream.testkit.TestSecrets.KEYS)), Clock.systemUTC())) {
            await().atMost(Duration.ofSeconds(60)).until(() -> aggregator.streams().state() == KafkaStreams.State.RUNNING);
            // a little of everything: an event, a refused event, a check
            assertThat(stack.postEvents("{\"id\": \"m1\", \"customer\": \"ops\", \"feature\": \"chat\", \"usage\": {\"requests\": 1}}")
                    .statusCode()).isEqualTo(202);
            assertThat(stack.postEvents("{\"id\": \"m2\"}").statusCode()).isEqualTo(400);
            await().atMost(Duration.ofSeconds(30)).until(() -> sidecar.enforcer().ready());
            stack.control("POST", "/v1/check", "{\"customer\": \"ops\", \"feature\": \"chat\"}", Stack.ADMIN_KEY, sidecar.port());

            Set<String> exported = new TreeSet<>();
            for (int port : new int[] {stack.ingest.port(), aggregator.port(), sidecar.port(), notifier.port()}) {
                exported.addAll(scrape(port));
            }
            for (String file : new String[] {"prometheus-rules.yaml", "grafana-dashboard.json"}) {
                Set<String> named = named(Files.readString(Path.of("..", "deploy", "monitoring", file)));
                assertThat(named).as(file + " names metrics").isNotEmpty();
                assertThat(exported).as(file + ": metrics it names that no service exports").containsAll(named);
            }
        } finally {
            stack.close();
        }
    }

    static Set<String> named(String text) {
        Set<String> names = new TreeSet<>();
        Matcher m = METRIC.matcher(text);
        while (m.find()) {
            names.add(m.group(1));
        }
        return names;
    }

    static Set<String> scrape(int port) throws Exception {
        String body = HttpClient.newHttpClient().send(HttpRequest.newBuilder(URI.create("http://127.0.0.1:" + port + "/metrics")).build(),
                HttpResponse.BodyHandlers.ofString()).body();
        Set<String> names = new TreeSet<>();
        for (String line : body.split("\n")) {
            if (!line.isBlank() && !line.startsWith("#")) {
                names.add(line.split("[{ ]", 2)[0]);
            }
        }
        return names;
    }
}

package io.capstream.deploy;

import static org.assertj.core.api.Assertions.assertThat;

import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.dataformat.yaml.YAMLFactory;
import com.fasterxml.jackson.dataformat.yaml.YAMLMapper;
import io.capstream.runtime.Configs;
import io.capstream.schemas.topics.TopicSpec;
import io.capstream.schemas.topics.Topics;
import io.fabric8.kubernetes.api.model.Container;
import io.fabric8.kubernetes.api.model.EnvVar;
import io.fabric8.kubernetes.api.model.HasMetadata;
import io.fabric8.kubernetes.api.model.Namespace;
import io.fabric8.kubernetes.api.model.PodSpec;
import io.fabric8.kubernetes.api.model.Probe;
import io.fabric8.kubernetes.api.model.Secret;
import io.fabric8.kubernetes.api.model.Service;
import io.fabric8.kubernetes.api.model.apps.Deployment;
import io.fabric8.kubernetes.api.model.apps.StatefulSet;
import io.fabric8.kubernetes.api.model.batch.v1.Job;
import io.fabric8.kubernetes.api.model.policy.v1.PodDisruptionBudget;
import io.strimzi.api.kafka.model.kafka.Kafka;
import io.strimzi.api.kafka.model.nodepool.KafkaNodePool;
import io.strimzi.api.kafka.model.topic.KafkaTopic;
import java.io.IOException;
import java.lang.reflect.Field;
import java.lang.reflect.Method;
import java.lang.reflect.Modifier;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.apache.kafka.common.config.ConfigDef;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * deploy/kubernetes read strictly into the Kubernetes (fabric8) and Strimzi API models: every document's
 * kind and apiVersion known, no field a model does not know (they would land in additionalProperties and
 * be ignored by the API server or the operator), and what Capstream needs of them checked: the topics of
 * {@link Topics#specs}, probes and requests on every container, a disruption budget for every workload,
 * the aggregator's volume, static membership and standbys, and every CAPSTREAM_* variable a setting its
 * service defines.
 */
class KubernetesManifestsTest {
    static final Map<String, Class<? extends HasMetadata>> KINDS = Map.of(
            "Namespace", Namespace.class, "Secret", Secret.class, "Service", Service.class, "Deployment", Deployment.class,
            "StatefulSet", StatefulSet.class, "PodDisruptionBudget", PodDisruptionBudget.class, "Job", Job.class,
            "Kafka", Kafka.class, "KafkaNodePool", KafkaNodePool.class, "KafkaTopic", KafkaTopic.class);
    static final ObjectMapper MAPPER = new ObjectMapper(new YAMLFactory()).enable(DeserializationFeature.FAIL_ON_UNKNOWN_PROPERTIES);
    static final List<HasMetadata> RESOURCES = new ArrayList<>();

    @BeforeAll
    static void read() throws IOException {
        List<Path> files;
        try (Stream<Path> listed = Files.list(Path.of("kubernetes"))) {
            files = listed.filter(p -> p.toString().endsWith(".yaml")).sorted().toList();
        }
        assertThat(files).isNotEmpty();
        for (Path file : files) {
            for (JsonNode doc : new YAMLMapper().readerFor(JsonNode.class).<JsonNode>readValues(Files.readString(file)).readAll()) {
                if (doc == null || doc.isNull() || doc.isEmpty()) {
                    continue;
                }
                String kind = doc.path("kind").asText();
                Class<? extends HasMetadata> type = KINDS.get(kind);
                assertThat(type).as("%s: kind '%s'", file, kind).isNotNull();
                assertThat(doc.path("apiVersion").asText()).as("%s: apiVersion of %s", file, kind).isEqualTo(HasMetadata.getApiVersion(type));
                HasMetadata resource = MAPPER.treeToValue(doc, type);
                List<String> unknown = new ArrayList<>();
                unknownFields(resource, kind + " " + resource.getMetadata().getName(), unknown, new IdentityHashMap<>());
                assertThat(unknown).as("%s: fields the models do not know", file).isEmpty();
                RESOURCES.add(resource);
            }
        }
    }

    @SuppressWarnings("unchecked")
    static <T extends HasMetadata> List<T> all(Class<T> type) {
        return RESOURCES.stream().filter(type::isInstance).map(r -> (T) r).toList();
    }

    @Test
    void theTopicsAreCapstreamsTopicsWithTheirPartitionsAndCleanup() {
        Map<String, KafkaTopic> topics = all(KafkaTopic.class).stream().collect(Collectors.toMap(t -> t.getMetadata().getName(), t -> t));
        List<TopicSpec> specs = new Topics("").specs(Duration.ofHours(24));
        assertThat(topics.keySet()).containsExactlyInAnyOrderElementsOf(specs.stream().map(TopicSpec::name).toList());
        for (TopicSpec spec : specs) {
            KafkaTopic topic = topics.get(spec.name());
            assertThat(topic.getSpec().getPartitions()).as(spec.name()).isEqualTo(spec.partitions());
            assertThat(topic.getSpec().getReplicas()).as(spec.name()).isEqualTo(3);
            spec.configs().forEach((key, value) -> assertThat(String.valueOf(topic.getSpec().getConfig().get(key))).as(spec.name() + " " + key)
                    .isEqualTo(value));
            assertThat(topic.getMetadata().getLabels()).containsEntry("strimzi.io/cluster", "capstream");
        }
        assertThat(all(Kafka.class)).singleElement().satisfies(k -> assertThat(k.getMetadata().getName()).isEqualTo("capstream"));
        assertThat(all(KafkaNodePool.class)).allSatisfy(pool -> assertThat(pool.getSpec().getReplicas()).isGreaterThanOrEqualTo(3));
    }

    @Test
    void everyServiceContainerHasHealthProbesRequestsAndADisruptionBudget() {
        List<PodSpec> pods = new ArrayList<>();
        Map<String, Map<String, String>> selectors = new HashMap<>();
        for (Deployment d : all(Deployment.class)) {
            pods.add(d.getSpec().getTemplate().getSpec());
            selectors.put(d.getMetadata().getName(), d.getSpec().getSelector().getMatchLabels());
        }
        for (StatefulSet s : all(StatefulSet.class)) {
            pods.add(s.getSpec().getTemplate().getSpec());
            selectors.put(s.getMetadata().getName(), s.getSpec().getSelector().getMatchLabels());
        }
        assertThat(selectors.keySet()).containsExactlyInAnyOrder("aggregator", "ingest", "enforcement", "notifier", "registry");
        for (PodSpec pod : pods) {
            for (Container c : pod.getContainers()) {
                assertThat(probePath(c.getReadinessProbe())).as(c.getName() + " readiness").isEqualTo("/health/ready");
                assertThat(probePath(c.getLivenessProbe())).as(c.getName() + " liveness").isEqualTo("/health/live");
                assertThat(c.getResources().getRequests()).as(c.getName() + " requests").containsKeys("cpu", "memory");
                assertThat(c.getResources().getLimits()).as(c.getName() + " memory limit").containsKey("memory");
            }
        }
        Set<Map<String, String>> budgeted = all(PodDisruptionBudget.class).stream().map(b -> b.getSpec().getSelector().getMatchLabels())
                .collect(Collectors.toSet());
        selectors.forEach((name, labels) -> assertThat(budgeted).as(name + " has a PodDisruptionBudget").contains(labels));
    }

    @Test
    void theAggregatorKeepsItsStateOnAVolumeWithStaticMembershipAndStandbys() {
        StatefulSet aggregator = all(StatefulSet.class).stream().filter(s -> s.getMetadata().getName().equals("aggregator")).findFirst().orElseThrow();
        assertThat(aggregator.getSpec().getReplicas()).isGreaterThanOrEqualTo(3);
        assertThat(aggregator.getSpec().getVolumeClaimTemplates()).extracting(v -> v.getMetadata().getName()).containsExactly("state");
        Map<String, String> env = env(aggregator.getSpec().getTemplate().getSpec().getContainers().getFirst());
        assertThat(env).containsEntry("CAPSTREAM_KAFKA_GROUP_INSTANCE_ID", "$(POD_NAME)")
                .containsEntry("CAPSTREAM_NUM_STANDBY_REPLICAS", "1")
                .containsEntry("CAPSTREAM_STATE_DIR", "/var/lib/capstream/streams")
                .containsKey("CAPSTREAM_KAFKA_CLIENT_RACK");
        assertThat(env.get("CAPSTREAM_HTTP_ADVERTISED_HOST")).startsWith("$(POD_NAME)." + aggregator.getSpec().getServiceName() + ".");
        assertThat(aggregator.getSpec().getTemplate().getSpec().getContainers().getFirst().getVolumeMounts())
                .anySatisfy(m -> assertThat(m.getMountPath()).isEqualTo("/var/lib/capstream"));
    }

    @Test
    void everyCapstreamVariableIsASettingItsServiceDefinesWithAValidValue() throws Exception {
        Map<String, String> services = Map.of(
                "io.capstream.aggregator.AggregatorService", "io.capstream.aggregator.AggregatorConfig",
                "io.capstream.ingest.IngestService", "io.capstream.ingest.IngestConfig",
                "io.capstream.enforcement.EnforcementService", "io.capstream.enforcement.EnforcementConfig",
                "io.capstream.notifier.NotifierService", "io.capstream.notifier.NotifierConfig");
        List<Container> containers = new ArrayList<>();
        all(Deployment.class).forEach(d -> containers.addAll(d.getSpec().getTemplate().getSpec().getContainers()));
        all(StatefulSet.class).forEach(s -> containers.addAll(s.getSpec().getTemplate().getSpec().getContainers()));
        int checked = 0;
        for (Container c : containers) {
            if (c.getArgs() == null || c.getArgs().isEmpty() || !services.containsKey(c.getArgs().getFirst())) {
                continue;
            }
            Class<?> configType = Class.forName(services.get(c.getArgs().getFirst()));
            Field field = configType.getDeclaredField("DEF");
            field.setAccessible(true);
            ConfigDef def = (ConfigDef) field.get(null);
            Map<String, String> env = new HashMap<>(env(c));
            env.replaceAll((k, v) -> v == null ? "k1:" + "A".repeat(43) + "=" : v); // from the secret: any well-formed value
            Map<String, String> raw = Configs.read(null, env, Map.of());
            raw.keySet().stream().filter(k -> !k.startsWith(Configs.KAFKA_PREFIX))
                    .forEach(k -> assertThat(def.names()).as(c.getName() + ": CAPSTREAM_ variable for '" + k + "'").contains(k));
            Method from = configType.getMethod("from", Map.class);
            from.invoke(null, raw); // every value valid for its setting (throws otherwise)
            checked++;
        }
        assertThat(checked).isEqualTo(4);
    }

    static Map<String, String> env(Container c) {
        Map<String, String> env = new HashMap<>();
        for (EnvVar v : c.getEnv()) {
            env.put(v.getName(), v.getValue());
        }
        return env;
    }

    static String probePath(Probe probe) {
        return probe == null || probe.getHttpGet() == null ? null : probe.getHttpGet().getPath();
    }

    /** Every non-empty additionalProperties map in the model objects reachable from {@code o}: fields no model knows. */
    static void unknownFields(Object o, String path, List<String> unknown, Map<Object, Boolean> seen) {
        if (o == null || seen.put(o, true) != null) {
            return;
        }
        if (o instanceof Collection<?> items) {
            int i = 0;
            for (Object item : items) {
                unknownFields(item, path + "[" + i++ + "]", unknown, seen);
            }
            return;
        }
        if (o instanceof Map<?, ?> map) {
            map.forEach((k, v) -> unknownFields(v, path + "." + k, unknown, seen));
            return;
        }
        String pkg = o.getClass().getPackageName();
        if (!pkg.startsWith("io.fabric8.kubernetes.api.model") && !pkg.startsWith("io.strimzi.api")) {
            return;
        }
        for (Method m : o.getClass().getMethods()) {
            if (m.getParameterCount() != 0 || Modifier.isStatic(m.getModifiers()) || !m.getName().startsWith("get") || m.getName().equals("getClass")) {
                continue;
            }
            Object value;
            try {
                value = m.invoke(o);
            } catch (ReflectiveOperationException | RuntimeException e) {
                continue;
            }
            if (m.getName().equals("getAdditionalProperties")) {
                if (value instanceof Map<?, ?> extra && !extra.isEmpty()) {
                    unknown.add(path + ": " + extra.keySet());
                }
            } else {
                unknownFields(value, path + "." + m.getName().substring(3), unknown, seen);
            }
        }
    }
}

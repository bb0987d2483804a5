package io.capstream.deploy;

import io.capstream.policy.catalogue.PolicyValidationException;
import io.capstream.schemas.PolicyRecord;
import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.topics.PolicyPublisher;
import io.capstream.schemas.topics.Topics;
import java.io.PrintWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import org.apache.kafka.clients.consumer.ConsumerConfig;
import org.apache.kafka.clients.consumer.KafkaConsumer;
import org.apache.kafka.common.TopicPartition;
import org.apache.kafka.common.serialization.ByteArrayDeserializer;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.Spec;

/** {@code policy apply FILE}: validates the policy document and publishes it to the policy topic. */
@Command(name = "policy-apply", description = "Validate a policy document (YAML) and publish it; running aggregators use it at once.")
final class PolicyCommand implements Callable<Integer> {
    @Spec
    CommandSpec spec;

    @Parameters(index = "0", description = "The policy document (YAML).")
    Path file;

    @Mixin
    ClusterOptions cluster;

    @Option(names = "--if-absent", description = "Only when no policy has been applied yet (the local stack's first start).")
    boolean ifAbsent;

    @Override
    public Integer call() throws Exception {
        PrintWriter out = spec.commandLine().getOut();
        PrintWriter err = spec.commandLine().getErr();
        Topics topics = cluster.topics();
        if (ifAbsent && applied(topics)) {
            out.println("policy already applied; left as it is (" + file + " not applied)");
            return 0;
        }
        try (PolicyPublisher publisher = new PolicyPublisher(Map.of("bootstrap.servers", cluster.bootstrapServers),
                new SchemaRegistryClient(cluster.registryUrl), false, topics)) {
            PolicyRecord record = publisher.publish(Files.readString(file), Instant.now()).record();
            out.println("policy " + file + " applied, version " + record.getVersion().substring(0, 12));
            return 0;
        } catch (PolicyValidationException e) {
            return invalid(err, file + " is not a valid policy document; nothing was applied:", e);
        }
    }

    private boolean applied(Topics topics) {
        try (KafkaConsumer<byte[], byte[]> consumer = new KafkaConsumer<>(Map.of(ConsumerConfig.BOOTSTRAP_SERVERS_CONFIG, cluster.bootstrapServers),
                new ByteArrayDeserializer(), new ByteArrayDeserializer())) {
            TopicPartition partition = new TopicPartition(topics.policy(), 0);
            return consumer.endOffsets(List.of(partition), Duration.ofSeconds(10)).getOrDefault(partition, 0L) > 0;
        }
    }

    /** Prints {@code headline} and every problem of the document, one per line; the exit code of an invalid document. */
    static int invalid(PrintWriter err, String headline, PolicyValidationException e) {
        err.println(headline);
        e.errors().forEach(line -> err.println("  " + line));
        return 2;
    }
}

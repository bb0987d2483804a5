package io.capstream.schemas.serde;

import io.capstream.schemas.registry.SchemaRegistryClient;
import io.capstream.schemas.registry.SchemaRegistryException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Avro in the Confluent wire format: magic byte 0, the 4-byte schema id, then Avro binary. Values are
 * registered under {@code <topic>-value} (keys under {@code <topic>-key}), the TopicNameStrategy, so
 * any Confluent-compatible consumer can read what this writes. Configured with the same keys as
 * Confluent's serdes ({@value #REGISTRY_URL}, {@value #AUTO_REGISTER}), which a user may configure
 * instead of this one.
 *
 * <p>With auto-registration off (the default, as in production), serializing with a schema that is
 * not registered under the subject fails with an error that says so.
 */
public final class RegistryAvroSerde<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {
    public static final String REGISTRY_URL = "schema.registry.url";
    public static final String AUTO_REGISTER = "auto.register.schemas";
    static final byte MAGIC = 0;

    private final AvroCodec<T> codec;
    private final Map<Integer, SpecificDatumReader<T>> readers = new ConcurrentHashMap<>();
    private SchemaRegistryClient registry;
    private boolean autoRegister;
    private boolean isKey;

    /** An unconfigured serde; Kafka calls {@link #configure} with the client's properties. */
    public RegistryAvroSerde(Class<T> type) {
        this.codec = new AvroCodec<>(type);
    }

    public static <T extends SpecificRecord> RegistryAvroSerde<T> of(Class<T> type, SchemaRegistryClient registry, boolean autoRegister) {
        RegistryAvroSerde<T> serde = new RegistryAvroSerde<>(type);
        serde.registry = registry;
        serde.autoRegister = autoRegister;
        return serde;
    }

    @Override
    public void configure(Map<String, ?> configs, boolean isKey) {
        this.isKey = isKey;
        Object url = configs.get(REGISTRY_URL);
        if (registry == null) {
            if (url == null) {
                throw new IllegalArgumentException(REGISTRY_URL + " is required to (de)serialize " + codec.type().getSimpleName());
            }
            registry = new SchemaRegistryClient(url.toString());
        }
        Object auto = configs.get(AUTO_REGISTER);
        if (auto != null) {
            autoRegister = Boolean.parseBoolean(auto.toString());
        }
    }

    @Override
    public byte[] serialize(String topic, T data) {
        if (data == null) {
            return null;
        }
        String subject = topic + (isKey ? "-key" : "-value");
        int id;
        try {
            id = autoRegister ? registry.register(subject, codec.schema()) : registry.idOf(subject, codec.schema());
        } catch (SchemaRegistryException e) {
            if (e.status() == 404) {
                throw new SerializationException("the schema of " + codec.schema().getFullName()
                        + " is not registered under subject '" + subject + "' in the registry at " + registry.url()
                        + "; register it at deploy time (capstream setup) or set " + AUTO_REGISTER + "=true", e);
            }
            throw new SerializationException("could not write " + codec.schema().getFullName() + " to " + topic + ": " + e.getMessage(), e);
        }
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        out.write(MAGIC);
        out.write(id >>> 24);
        out.write(id >>> 16);
        out.write(id >>> 8);
        out.write(id);
        codec.write(data, out);
        return out.toByteArray();
    }

    @Override
    public T deserialize(String topic, byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        ByteBuffer buffer = ByteBuffer.wrap(bytes);
        if (bytes.length < 5 || buffer.get() != MAGIC) {
            throw new SerializationException("not in the Confluent wire format (magic byte 0 and a schema id expected) on " + topic);
        }
        int id = buffer.getInt();
        SpecificDatumReader<T> reader;
        try {
            reader = readers.computeIfAbsent(id, i -> codec.readerFor(registry.schemaById(i)));
        } catch (SchemaRegistryException e) {
            throw new SerializationException("cannot read a record of " + topic + " written with schema id " + id + ": " + e.getMessage(), e);
        }
        try {
            return codec.decode(reader, buffer);
        } catch (RuntimeException e) {
            throw new SerializationException("a record of " + topic + " with schema id " + id + " is not valid Avro: " + e.getMessage(), e);
        }
    }

    @Override
    public Serializer<T> serializer() {
        return this;
    }

    @Override
    public Deserializer<T> deserializer() {
        return this;
    }

    @Override
    public void close() {
        // the registry client holds no resources that need closing
    }
}

package io.capstream.schemas.serde;

import java.nio.ByteBuffer;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificRecord;
import org.apache.kafka.common.errors.SerializationException;
import org.apache.kafka.common.serialization.Deserializer;
import org.apache.kafka.common.serialization.Serde;
import org.apache.kafka.common.serialization.Serializer;

/**
 * Plain Avro binary with the class's own schema, no registry: for state stores and their changelogs,
 * which only Capstream reads. A store whose value schema changes incompatibly gets a new store name.
 */
public final class InternalAvroSerde<T extends SpecificRecord> implements Serde<T>, Serializer<T>, Deserializer<T> {
    private final AvroCodec<T> codec;
    private final SpecificDatumReader<T> reader;

    public InternalAvroSerde(Class<T> type) {
        this.codec = new AvroCodec<>(type);
        this.reader = codec.readerFor(codec.schema());
    }

    @Override
    public byte[] serialize(String topic, T data) {
        return data == null ? null : codec.encode(data);
    }

    @Override
    public T deserialize(String topic, byte[] bytes) {
        if (bytes == null) {
            return null;
        }
        try {
            return codec.decode(reader, ByteBuffer.wrap(bytes));
        } catch (RuntimeException e) {
            throw new SerializationException("corrupt " + codec.type().getSimpleName() + " in " + topic, e);
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
    public void configure(java.util.Map<String, ?> configs, boolean isKey) {
        // nothing to configure: the schema is the class's own
    }

    @Override
    public void close() {
        // holds no resources
    }
}

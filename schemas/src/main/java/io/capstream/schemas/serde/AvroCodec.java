package io.capstream.schemas.serde;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import org.apache.avro.Schema;
import org.apache.avro.io.BinaryDecoder;
import org.apache.avro.io.BinaryEncoder;
import org.apache.avro.io.DecoderFactory;
import org.apache.avro.io.EncoderFactory;
import org.apache.avro.specific.SpecificData;
import org.apache.avro.specific.SpecificDatumReader;
import org.apache.avro.specific.SpecificDatumWriter;
import org.apache.avro.specific.SpecificRecord;

/**
 * Avro binary encoding of one generated record class, with its logical-type conversions
 * (decimals become {@code BigDecimal}, timestamps {@code Instant}).
 */
public final class AvroCodec<T extends SpecificRecord> {
    private final Class<T> type;
    private final Schema schema;
    private final SpecificData model;
    private final SpecificDatumWriter<T> writer;

    public AvroCodec(Class<T> type) {
        this.type = type;
        this.model = SpecificData.getForClass(type);
        this.schema = model.getSchema(type);
        this.writer = new SpecificDatumWriter<>(schema, model);
    }

    public Schema schema() {
        return schema;
    }

    public Class<T> type() {
        return type;
    }

    /**
     * A buffered encoder per thread, reused: the direct encoder wrote each byte to the stream on its
     * own (a synchronized call and a capacity check per byte, a third of the encoding time).
     */
    private static final ThreadLocal<BinaryEncoder> ENCODER = new ThreadLocal<>();
    private static final ThreadLocal<BinaryDecoder> DECODER = new ThreadLocal<>();

    public void write(T value, ByteArrayOutputStream out) {
        try {
            BinaryEncoder encoder = EncoderFactory.get().binaryEncoder(out, ENCODER.get());
            ENCODER.set(encoder);
            writer.write(value, encoder);
            encoder.flush();
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    public byte[] encode(T value) {
        ByteArrayOutputStream out = new ByteArrayOutputStream(256);
        write(value, out);
        return out.toByteArray();
    }

    /** A reader that resolves data written with {@code writerSchema} into this class. */
    public SpecificDatumReader<T> readerFor(Schema writerSchema) {
        return new SpecificDatumReader<>(writerSchema, schema, model);
    }

    public T decode(SpecificDatumReader<T> reader, ByteBuffer buffer) {
        try {
            BinaryDecoder decoder = DecoderFactory.get().binaryDecoder(
                    buffer.array(), buffer.arrayOffset() + buffer.position(), buffer.remaining(), DECODER.get());
            DECODER.set(decoder);
            return reader.read(null, decoder);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}

package io.capstream.aggregator.topology;

import java.nio.charset.StandardCharsets;
import java.util.List;
import java.util.Map;
import org.apache.kafka.clients.consumer.ConsumerRecord;
import org.apache.kafka.clients.producer.ProducerRecord;
import org.apache.kafka.common.header.internals.RecordHeaders;
import org.apache.kafka.streams.StreamsConfig;
import org.apache.kafka.streams.errors.DeserializationExceptionHandler;
import org.apache.kafka.streams.errors.ErrorHandlerContext;
import org.apache.kafka.streams.errors.ProcessingExceptionHandler;
import org.apache.kafka.streams.processor.api.Record;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

/**
 * Sends records the topology cannot use to the dead-letter topic ({@code usage-events-dlq}) with the
 * original key and value bytes and the reason in headers, then carries on with the next record.
 * The dead letter is written in the same transaction as the task's other output, so it is neither
 * lost nor duplicated.
 *
 * <p>Headers: {@value #REASON} (a sentence), {@value #FIELD} (the field at fault, when known),
 * {@value #EXCEPTION}, and the source topic, partition and offset.
 */
public final class DeadLetterHandler implements ProcessingExceptionHandler, DeserializationExceptionHandler {
    public static final String REASON = "capstream.reason";
    public static final String FIELD = "capstream.field";
    public static final String EXCEPTION = "capstream.exception";
    private static final Logger LOG = LoggerFactory.getLogger(DeadLetterHandler.class);

    private String topic;

    @Override
    public void configure(Map<String, ?> configs) {
        Object name = configs.get(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG);
        if (name == null) {
            throw new IllegalArgumentException(StreamsConfig.ERRORS_DEAD_LETTER_QUEUE_TOPIC_NAME_CONFIG + " must name the dead-letter topic");
        }
        this.topic = name.toString();
    }

    @Override
    public ProcessingExceptionHandler.Response handleError(ErrorHandlerContext context, Record<?, ?> record, Exception exception) {
        return ProcessingExceptionHandler.Response.resume(deadLetter(context, exception));
    }

    @Override
    public DeserializationExceptionHandler.Response handleError(ErrorHandlerContext context, ConsumerRecord<byte[], byte[]> record,
                                                                Exception exception) {
        return DeserializationExceptionHandler.Response.resume(deadLetter(context, exception));
    }

    private List<ProducerRecord<byte[], byte[]>> deadLetter(ErrorHandlerContext context, Exception exception) {
        Throwable cause = exception;
        while (!(cause instanceof RejectedEventException) && cause.getCause() != null) {
            cause = cause.getCause();
        }
        boolean rejected = cause instanceof RejectedEventException;
        String reason = rejected ? cause.getMessage() : exception.getMessage();
        if (rejected) {
            LOG.info("event at {}-{}@{} refused: {}", context.topic(), context.partition(), context.offset(), reason);
        } else {
            LOG.warn("record at {}-{}@{} could not be processed; sent to {}", context.topic(), context.partition(), context.offset(), topic, exception);
        }
        RecordHeaders headers = new RecordHeaders();
        header(headers, REASON, reason == null ? exception.getClass().getName() : reason);
        if (rejected) {
            header(headers, FIELD, ((RejectedEventException) cause).field());
        }
        header(headers, EXCEPTION, (rejected ? cause : exception).getClass().getName());
        header(headers, "capstream.source.topic", context.topic());
        header(headers, "capstream.source.partition", Integer.toString(context.partition()));
        header(headers, "capstream.source.offset", Long.toString(context.offset()));
        return List.of(new ProducerRecord<>(topic, null, context.timestamp(), context.sourceRawKey(), context.sourceRawValue(), headers));
    }

    private static void header(RecordHeaders headers, String name, String value) {
        headers.add(name, value.getBytes(StandardCharsets.UTF_8));
    }
}

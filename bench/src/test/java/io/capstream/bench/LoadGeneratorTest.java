package io.capstream.bench;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/** How the load generator finds where an answer ends and what its status is, in the bytes it read so far. */
class LoadGeneratorTest {
    private static ByteBuffer read(String bytes) {
        ByteBuffer in = ByteBuffer.allocate(1024);
        in.put(bytes.getBytes(StandardCharsets.ISO_8859_1));
        return in;
    }

    private static String left(ByteBuffer in) {
        return new String(in.array(), 0, in.position(), StandardCharsets.ISO_8859_1);
    }

    @Test
    void anAnswerWithAContentLengthIsCompleteOnceItsBodyIsInAndIsConsumedUpToItsEnd() {
        String answer = "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 20\r\n\r\n{\"decision\":\"allow\"}";
        ByteBuffer partial = read(answer.substring(0, answer.length() - 1));
        assertThat(LoadGenerator.complete(partial)).isZero();
        assertThat(left(partial)).isEqualTo(answer.substring(0, answer.length() - 1));

        ByteBuffer two = read(answer + "HTTP/1.1 402 Payment Required\r\ncontent-length: 2\r\n\r\n{}");
        assertThat(LoadGenerator.complete(two)).isEqualTo(200);
        assertThat(LoadGenerator.complete(two)).isEqualTo(402);
        assertThat(two.position()).isZero();
    }

    @Test
    void headerNamesAreReadInAnyCaseAndTheLengthMayBeTheLastHeader() {
        ByteBuffer in = read("HTTP/1.1 201 Created\r\nCONTENT-LENGTH:  3\r\n\r\nabcHTTP/1.1");
        assertThat(LoadGenerator.complete(in)).isEqualTo(201);
        assertThat(left(in)).isEqualTo("HTTP/1.1");
    }

    @Test
    void aChunkedAnswerIsCompleteAtItsLastChunk() {
        String answer = "HTTP/1.1 429 Too Many Requests\r\nTransfer-Encoding: chunked\r\n\r\n2\r\n{}\r\n";
        ByteBuffer in = read(answer);
        assertThat(LoadGenerator.complete(in)).isZero();
        in.put("0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1));
        assertThat(LoadGenerator.complete(in)).isEqualTo(429);
        assertThat(in.position()).isZero();
    }

    @Test
    void anAnswerWithoutABodyEndsWithItsHeaders() {
        ByteBuffer in = read("HTTP/1.1 204 No Content\r\nDate: x\r\n\r\nHTTP");
        assertThat(LoadGenerator.complete(in)).isEqualTo(204);
        assertThat(left(in)).isEqualTo("HTTP");
    }
}

package io.capstream.bench;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.ServerSocketChannel;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;

/**
 * The floor for {@link SidecarBenchmark}: an HTTP/1.1 server that does nothing but answer every
 * request with a fixed {@code 200}, on one thread and one selector, meant to run in its own process.
 * What the load generator measures against it is the machine's loopback round trip plus the
 * generator itself; the sidecar's figures are read against it.
 *
 * <p>Usage: {@code LoopbackServer PORT}.
 */
public final class LoopbackServer {
    private static final String BODY = "{\"decision\":\"allow\"}";
    private static final byte[] RESPONSE = ("HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: " + BODY.length() + "\r\n\r\n" + BODY)
            .getBytes(StandardCharsets.ISO_8859_1);

    private LoopbackServer() {}

    public static void main(String[] args) throws IOException {
        try (Selector selector = Selector.open(); ServerSocketChannel server = ServerSocketChannel.open()) {
            server.bind(new InetSocketAddress("127.0.0.1", Integer.parseInt(args[0])), 1024);
            server.configureBlocking(false);
            server.register(selector, SelectionKey.OP_ACCEPT);
            while (true) {
                selector.select();
                for (SelectionKey k : selector.selectedKeys()) {
                    if (k.isAcceptable()) {
                        SocketChannel c = server.accept();
                        if (c != null) {
                            c.configureBlocking(false);
                            c.setOption(StandardSocketOptions.TCP_NODELAY, true);
                            c.register(selector, SelectionKey.OP_READ, ByteBuffer.allocate(64 * 1024));
                        }
                    } else if (k.isReadable()) {
                        serve((SocketChannel) k.channel(), (ByteBuffer) k.attachment(), k);
                    }
                }
                selector.selectedKeys().clear();
            }
        }
    }

    /** Answers every complete request in the buffer (pipelined ones too) and keeps the rest. */
    private static void serve(SocketChannel c, ByteBuffer in, SelectionKey k) throws IOException {
        if (c.read(in) < 0) {
            k.cancel();
            c.close();
            return;
        }
        byte[] a = in.array();
        int start = 0;
        for (int end; (end = requestEnd(a, start, in.position())) > 0; start = end) {
            ByteBuffer out = ByteBuffer.wrap(RESPONSE);
            while (out.hasRemaining()) {
                c.write(out);
            }
        }
        System.arraycopy(a, start, a, 0, in.position() - start);
        in.position(in.position() - start);
    }

    /** Where the request starting at {@code from} ends (headers and a {@code Content-Length} body), or -1 when incomplete. */
    private static int requestEnd(byte[] a, int from, int n) {
        for (int i = from; i + 3 < n; i++) {
            if (a[i] == '\r' && a[i + 1] == '\n' && a[i + 2] == '\r' && a[i + 3] == '\n') {
                int length = 0;
                String headers = new String(a, from, i - from, StandardCharsets.ISO_8859_1);
                int cl = headers.toLowerCase(java.util.Locale.ROOT).indexOf("\r\ncontent-length:");
                if (cl >= 0) {
                    int lineEnd = headers.indexOf("\r\n", cl + 2);
                    length = Integer.parseInt(headers.substring(cl + 17, lineEnd < 0 ? headers.length() : lineEnd).trim());
                }
                return i + 4 + length <= n ? i + 4 + length : -1;
            }
        }
        return -1;
    }
}

package io.capstream.bench;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * An open-loop HTTP/1.1 load generator meant to run in its own process, light enough not to measure
 * itself: one sender thread writes each request at its scheduled time on an idle kept-alive
 * connection (or, when all are busy, as soon as one frees up), one receiver thread reads every
 * connection with a selector. Latency is measured from the scheduled time, so a server that falls
 * behind shows it (no coordinated omission). Neither thread allocates per request (connections are
 * found idle by a flag, answers parsed in their bytes), so what the generator costs is its system
 * calls and two thread wake-ups a request. Prints one result line, with its own CPU per request.
 *
 * <p>Usage: {@code LoadGenerator URL METHOD RATE_PER_S SECONDS BEARER_KEY [BODY]} (a second of warm-up
 * at the same rate comes first, not measured).
 */
public final class LoadGenerator {
    private static final int CONNECTIONS = 64;

    private LoadGenerator() {}

    public static void main(String[] args) throws Exception {
        URI uri = URI.create(args[0]);
        String method = args[1];
        int rate = Integer.parseInt(args[2]);
        int seconds = Integer.parseInt(args[3]);
        String key = args[4];
        byte[] body = (args.length > 5 ? args[5] : "").getBytes(StandardCharsets.UTF_8);
        byte[] request = (method + " " + uri.getRawPath() + " HTTP/1.1\r\nHost: " + uri.getHost() + ":" + uri.getPort()
                + "\r\nAuthorization: Bearer " + key + "\r\nContent-Type: application/json\r\nContent-Length: " + body.length + "\r\n\r\n")
                .getBytes(StandardCharsets.ISO_8859_1);
        request = concat(request, body);
        try (Run run = new Run(new InetSocketAddress(uri.getHost(), uri.getPort()), request)) {
            Result warm = run.run(rate, 1); // warm-up
            long processCpu0 = processCpu();
            Result r = run.run(rate, seconds);
            long processCpu = processCpu() - processCpu0;
            long[] sorted = Arrays.copyOf(r.latencies, r.completed);
            Arrays.sort(sorted);
            System.out.printf(Locale.ROOT, "RESULT sent=%d completed=%d errors=%d achieved_rate=%.0f p50_ms=%.3f p99_ms=%.3f p999_ms=%.3f max_ms=%.3f"
                            + " generator_us_per_request=%.1f sent_with_warmup=%d%n",
                    r.sent, r.completed, r.errors, r.completed / (r.elapsedNanos / 1e9), pct(sorted, 0.50), pct(sorted, 0.99), pct(sorted, 0.999),
                    sorted.length == 0 ? 0 : sorted[sorted.length - 1] / 1e6, processCpu / 1e3 / Math.max(1, r.sent), warm.sent + r.sent);
        }
    }

    private static long processCpu() {
        return ((com.sun.management.OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    private record Result(int sent, int completed, int errors, long elapsedNanos, long[] latencies) {}

    /** A kept-alive connection with at most one request in flight. */
    private static final class Connection {
        final SocketChannel channel;
        final ByteBuffer out;
        final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        /** Set by the sender before it writes, cleared by the receiver once the answer is read and counted. */
        volatile boolean busy;
        volatile long scheduled;

        Connection(SocketChannel channel, byte[] request) {
            this.channel = channel;
            this.out = ByteBuffer.wrap(request);
        }
    }

    /** The sender (the caller of {@link #run}) hands a connection to the receiver by its {@code busy} flag, the receiver hands it back. */
    private static final class Run implements AutoCloseable {
        final Selector selector;
        final Connection[] connections = new Connection[CONNECTIONS];
        final Thread receiver;
        int cursor;
        volatile long[] latencies = new long[0];
        final AtomicInteger completed = new AtomicInteger();
        final AtomicInteger errors = new AtomicInteger();
        volatile long lastEnd;
        volatile boolean open = true;

        Run(InetSocketAddress server, byte[] request) throws IOException {
            this.selector = Selector.open();
            for (int i = 0; i < CONNECTIONS; i++) {
                SocketChannel channel = SocketChannel.open(server);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                channel.configureBlocking(false);
                connections[i] = new Connection(channel, request);
                channel.register(selector, SelectionKey.OP_READ, connections[i]);
            }
            receiver = Thread.ofPlatform().name("load-receiver").start(this::receive);
        }

        Result run(int rate, int seconds) throws IOException {
            int total = rate * seconds;
            long interval = 1_000_000_000L / rate;
            latencies = new long[total];
            completed.set(0);
            errors.set(0);
            long start = System.nanoTime() + 5_000_000L;
            int next = 0; // every request before it was sent; the ones from it on that are due wait for an idle connection
            while (next < total) {
                long now = System.nanoTime();
                for (Connection c; next < total && start + next * interval <= now && (c = idle()) != null; next++) {
                    c.scheduled = start + next * interval;
                    c.busy = true;
                    c.out.clear();
                    while (c.out.hasRemaining()) {
                        c.channel.write(c.out); // a request fits the socket's send buffer of an idle connection
                    }
                }
                if (next < total) {
                    long wait = start + next * interval - System.nanoTime();
                    LockSupport.parkNanos(wait > 0 ? wait : 20_000); // due but every connection busy: look again shortly
                }
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (completed.get() + errors.get() < total && System.nanoTime() < deadline) {
                LockSupport.parkNanos(1_000_000);
            }
            return new Result(total, Math.min(completed.get(), total), errors.get(), lastEnd - start, latencies);
        }

        /** The next connection without a request in flight, round robin, or null when all are busy. */
        private Connection idle() {
            for (int i = 0; i < CONNECTIONS; i++) {
                Connection c = connections[cursor];
                cursor = (cursor + 1) % CONNECTIONS;
                if (!c.busy) {
                    return c;
                }
            }
            return null;
        }

        private void receive() {
            try {
                while (open) {
                    selector.select(this::read, 100);
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }

        private void read(SelectionKey k) {
            long now = System.nanoTime();
            Connection c = (Connection) k.attachment();
            try {
                if (c.channel.read(c.in) < 0) {
                    k.cancel();
                    return;
                }
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            int status = complete(c.in);
            if (status >= 300) { // the benchmark asks what must be allowed: anything else is an error
                errors.incrementAndGet();
            } else if (status > 0) {
                int slot = completed.getAndIncrement();
                long[] l = latencies;
                if (slot < l.length) {
                    l[slot] = now - c.scheduled;
                }
            }
            if (status > 0) {
                lastEnd = now;
                c.busy = false;
            }
        }

        @Override
        public void close() throws IOException {
            open = false;
            selector.wakeup();
            try {
                receiver.join(1_000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            for (Connection c : connections) {
                c.channel.close();
            }
            selector.close();
        }
    }

    private static final byte[] HEADERS_END = ascii("\r\n\r\n");
    private static final byte[] CONTENT_LENGTH = ascii("\r\ncontent-length:");
    private static final byte[] CHUNKED = ascii("\r\ntransfer-encoding: chunked");
    private static final byte[] LAST_CHUNK = ascii("0\r\n\r\n");

    /**
     * The status of the response in the buffer when it is complete (and consumes it), else 0. Handles
     * {@code Content-Length} and chunked bodies, one response at a time; header names in any case.
     */
    static int complete(ByteBuffer in) {
        byte[] a = in.array();
        int n = in.position();
        int headersEnd = indexOf(a, 0, n, HEADERS_END);
        if (headersEnd < 0) {
            return 0;
        }
        int bodyStart = headersEnd + 4;
        int end;
        int cl = indexOf(a, 0, headersEnd + 2, CONTENT_LENGTH);
        if (cl >= 0) {
            int length = 0;
            for (int i = cl + CONTENT_LENGTH.length; a[i] != '\r'; i++) {
                if (a[i] != ' ') {
                    length = length * 10 + (a[i] - '0');
                }
            }
            end = bodyStart + length;
            if (n < end) {
                return 0;
            }
        } else if (indexOf(a, 0, headersEnd + 2, CHUNKED) >= 0) {
            int last = indexOf(a, bodyStart, n, LAST_CHUNK);
            if (last < 0) {
                return 0;
            }
            end = last + LAST_CHUNK.length;
        } else {
            end = bodyStart;
        }
        int status = (a[9] - '0') * 100 + (a[10] - '0') * 10 + (a[11] - '0');
        System.arraycopy(a, end, a, 0, n - end);
        in.position(n - end);
        return status;
    }

    /** Where {@code what} (lower case) first starts in {@code a[from, to)}, ASCII letters compared in any case, else -1. */
    private static int indexOf(byte[] a, int from, int to, byte[] what) {
        outer:
        for (int i = from; i <= to - what.length; i++) {
            for (int j = 0; j < what.length; j++) {
                byte b = a[i + j];
                if ((b >= 'A' && b <= 'Z' ? b + ('a' - 'A') : b) != what[j]) {
                    continue outer;
                }
            }
            return i;
        }
        return -1;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.ISO_8859_1);
    }

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static double pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }
}

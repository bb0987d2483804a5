package io.capstream.bench;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.net.InetSocketAddress;
import java.net.StandardSocketOptions;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.util.ArrayDeque;
import java.util.Arrays;
import java.util.Locale;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.LockSupport;

/**
 * An open-loop HTTP/1.1 load generator meant to run in its own process, light enough not to measure
 * itself: one sender thread writes each request at its scheduled time on an idle kept-alive
 * connection (or, when all are busy, as soon as one frees up), one receiver thread reads every
 * connection with a selector. Latency is measured from the scheduled time, so a server that falls
 * behind shows it (no coordinated omission). Prints one result line, with its own CPU per request.
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
        final ByteBuffer in = ByteBuffer.allocate(64 * 1024);
        volatile long scheduled;

        Connection(SocketChannel channel) {
            this.channel = channel;
        }
    }

    private static final class Run implements AutoCloseable {
        final byte[] request;
        final Selector selector;
        final Connection[] connections = new Connection[CONNECTIONS];
        final ConcurrentLinkedQueue<Connection> idle = new ConcurrentLinkedQueue<>();
        final Thread receiver;
        volatile long[] latencies = new long[0];
        final AtomicInteger completed = new AtomicInteger();
        final AtomicInteger errors = new AtomicInteger();
        volatile long lastEnd;
        volatile boolean open = true;

        Run(InetSocketAddress server, byte[] request) throws IOException {
            this.request = request;
            this.selector = Selector.open();
            for (int i = 0; i < CONNECTIONS; i++) {
                SocketChannel channel = SocketChannel.open(server);
                channel.setOption(StandardSocketOptions.TCP_NODELAY, true);
                channel.configureBlocking(false);
                connections[i] = new Connection(channel);
                channel.register(selector, SelectionKey.OP_READ, connections[i]);
                idle.add(connections[i]);
            }
            receiver = Thread.ofPlatform().name("load-receiver").start(this::receive);
        }

        Result run(int rate, int seconds) throws IOException {
            int total = rate * seconds;
            long interval = 1_000_000_000L / rate;
            latencies = new long[total];
            completed.set(0);
            errors.set(0);
            ArrayDeque<Long> backlog = new ArrayDeque<>();
            long start = System.nanoTime() + 5_000_000L;
            int sent = 0;
            for (int i = 0; i < total || !backlog.isEmpty(); ) {
                long now = System.nanoTime();
                while (i < total && start + i * interval <= now) {
                    backlog.add(start + i * interval);
                    i++;
                }
                for (Connection c; !backlog.isEmpty() && (c = idle.poll()) != null; ) {
                    c.scheduled = backlog.poll();
                    ByteBuffer out = ByteBuffer.wrap(request);
                    while (out.hasRemaining()) {
                        c.channel.write(out); // a request fits the socket's send buffer of an idle connection
                    }
                    sent++;
                }
                if (i < total) {
                    LockSupport.parkNanos(start + i * interval - System.nanoTime());
                } else if (!backlog.isEmpty()) {
                    LockSupport.parkNanos(20_000);
                }
            }
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (completed.get() + errors.get() < sent && System.nanoTime() < deadline) {
                LockSupport.parkNanos(1_000_000);
            }
            return new Result(sent, Math.min(completed.get(), total), errors.get(), lastEnd - start, latencies);
        }

        private void receive() {
            try {
                while (open) {
                    selector.select(100);
                    long now = System.nanoTime();
                    for (SelectionKey k : selector.selectedKeys()) {
                        Connection c = (Connection) k.attachment();
                        if (c.channel.read(c.in) < 0) {
                            k.cancel();
                            continue;
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
                            idle.add(c);
                        }
                    }
                    selector.selectedKeys().clear();
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        }

        /**
         * The status of the response in the buffer when it is complete (and consumes it), else 0. Handles
         * {@code Content-Length} and chunked bodies, one response at a time.
         */
        private static int complete(ByteBuffer in) {
            byte[] a = in.array();
            int n = in.position();
            int headersEnd = indexOf(a, n, "\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), 0);
            if (headersEnd < 0) {
                return 0;
            }
            String headers = new String(a, 0, headersEnd, StandardCharsets.ISO_8859_1).toLowerCase(Locale.ROOT);
            int bodyStart = headersEnd + 4;
            int end;
            int cl = headers.indexOf("\r\ncontent-length:");
            if (cl >= 0) {
                int lineEnd = headers.indexOf("\r\n", cl + 2);
                int length = Integer.parseInt(headers.substring(cl + 17, lineEnd < 0 ? headers.length() : lineEnd).trim());
                end = bodyStart + length;
                if (n < end) {
                    return 0;
                }
            } else if (headers.contains("\r\ntransfer-encoding: chunked")) {
                int last = indexOf(a, n, "0\r\n\r\n".getBytes(StandardCharsets.ISO_8859_1), bodyStart);
                if (last < 0) {
                    return 0;
                }
                end = last + 5;
            } else {
                end = bodyStart;
            }
            int status = Integer.parseInt(headers.substring(9, 12));
            System.arraycopy(a, end, a, 0, n - end);
            in.position(n - end);
            return status;
        }

        private static int indexOf(byte[] a, int n, byte[] what, int from) {
            outer:
            for (int i = from; i <= n - what.length; i++) {
                for (int j = 0; j < what.length; j++) {
                    if (a[i + j] != what[j]) {
                        continue outer;
                    }
                }
                return i;
            }
            return -1;
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

    private static byte[] concat(byte[] a, byte[] b) {
        byte[] r = Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, r, a.length, b.length);
        return r;
    }

    private static double pct(long[] sorted, double p) {
        return sorted.length == 0 ? 0 : sorted[Math.min(sorted.length - 1, (int) Math.ceil(p * sorted.length) - 1)] / 1e6;
    }
}

package io.capstream.enforcement;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.capstream.policy.decision.CheckRequest;
import io.capstream.runtime.Json;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/**
 * The sidecar's side of strict reservations against real HTTP servers standing in for aggregator
 * instances (each answers every reservation of a batch, as the aggregator's API does, and records
 * what it was asked).
 */
class ReserverTest {
    /** A stand-in aggregator: reserves everything, after {@code delay}, naming {@code owner} as the customer's owner. */
    static final class Aggregator implements AutoCloseable {
        final HttpServer server;
        final AtomicInteger posts = new AtomicInteger();
        final List<String> reserved = new CopyOnWriteArrayList<>();
        final List<String> released = new CopyOnWriteArrayList<>();
        final AtomicLong delayMs = new AtomicLong();
        /** Releases answered 503 before one is taken (an instance whose partitions are moving). */
        final AtomicInteger releasesRefused = new AtomicInteger();
        volatile String owner;

        Aggregator() throws IOException {
            server = HttpServer.create(new InetSocketAddress("127.0.0.1", 0), 0);
            server.setExecutor(Executors.newVirtualThreadPerTaskExecutor());
            server.createContext("/v1/reservations", this::handle);
            server.start();
            owner = "127.0.0.1:" + port();
        }

        int port() {
            return server.getAddress().getPort();
        }

        String url() {
            return "http://127.0.0.1:" + port();
        }

        private void handle(HttpExchange exchange) throws IOException {
            try (exchange) {
                if (exchange.getRequestMethod().equals("DELETE")) {
                    if (releasesRefused.getAndUpdate(n -> Math.max(0, n - 1)) > 0) {
                        exchange.sendResponseHeaders(503, -1);
                        return;
                    }
                    String path = exchange.getRequestURI().getPath();
                    released.add(path.substring(path.lastIndexOf('/') + 1));
                    exchange.sendResponseHeaders(204, -1);
                    return;
                }
                posts.incrementAndGet();
                JsonNode body = Json.MAPPER.readTree(exchange.getRequestBody());
                Thread.sleep(body.get("customer").asText().startsWith("slow") ? 2_000 : delayMs.get());
                List<Map<String, Object>> results = new ArrayList<>();
                for (JsonNode r : body.get("reservations")) {
                    reserved.add(r.get("reservation_id").asText());
                    results.add(Map.of("reservation_id", r.get("reservation_id").asText(), "status", "reserved"));
                }
                byte[] answer = Json.MAPPER.writeValueAsBytes(Map.of("results", results));
                exchange.getResponseHeaders().add("Capstream-Owner", owner);
                exchange.sendResponseHeaders(200, answer.length);
                exchange.getResponseBody().write(answer);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }

        @Override
        public void close() {
            server.stop(0);
        }
    }

    final List<Aggregator> started = new ArrayList<>();

    Aggregator aggregator() throws IOException {
        Aggregator a = new Aggregator();
        started.add(a);
        return a;
    }

    @AfterEach
    void stop() {
        started.forEach(Aggregator::close);
    }

    static CheckRequest check(String customer) {
        return new CheckRequest(customer, null, null, "chat", null, Map.of(), Optional.of(new BigDecimal("0.10")));
    }

    @Test
    void aBurstOfOneCustomersReservationsTravelsInAFewBatchesEachWithItsOwnId() throws Exception {
        Aggregator aggregator = aggregator();
        aggregator.delayMs.set(20);
        Reserver reserver = new Reserver(aggregator.url(), "k", Duration.ofSeconds(5));

        List<CompletableFuture<Reserver.Outcome>> outcomes = new ArrayList<>();
        for (int i = 0; i < 48; i++) {
            outcomes.add(reserver.reserve(check("acme")));
        }

        List<String> ids = new ArrayList<>();
        for (CompletableFuture<Reserver.Outcome> o : outcomes) {
            assertThat(o.get()).isInstanceOf(Reserver.Outcome.Reserved.class);
            ids.add(((Reserver.Outcome.Reserved) o.get()).id());
        }
        assertThat(ids).doesNotHaveDuplicates().allSatisfy(id -> assertThat(id).startsWith("res_YWNtZQ_"));
        assertThat(aggregator.reserved).containsExactlyInAnyOrderElementsOf(ids);
        // one request in flight per customer: the first alone, the rest together while it was out
        assertThat(aggregator.posts.get()).isLessThanOrEqualTo(3);
    }

    @Test
    void aReservationGivenUpOnIsReleasedByItsId() throws Exception {
        Aggregator slow = aggregator();
        slow.delayMs.set(300);
        Reserver reserver = new Reserver(slow.url(), "k", Duration.ofMillis(40));

        long started = System.nanoTime();
        Reserver.Outcome outcome = reserver.reserve(check("acme")).get();

        assertThat(outcome).isInstanceOf(Reserver.Outcome.Unavailable.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofMillis(250));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(slow.released).hasSize(1));
        await().atMost(Duration.ofSeconds(5)).untilAsserted(() -> assertThat(slow.reserved).isEqualTo(slow.released));
    }

    @Test
    void aReleaseThatFindsNoInstanceAnsweringIsSentAgainUntilOneDoes() throws Exception {
        Aggregator moving = aggregator();
        moving.delayMs.set(300);
        moving.releasesRefused.set(2);
        Reserver reserver = new Reserver(moving.url(), "k", Duration.ofMillis(40));

        assertThat(reserver.reserve(check("acme")).get()).isInstanceOf(Reserver.Outcome.Unavailable.class);

        // refused twice (503), then taken: after about 1 + 2 s
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() -> assertThat(moving.released).hasSize(1));
        assertThat(moving.releasesRefused.get()).isZero();
        assertThat(moving.released).isEqualTo(moving.reserved);
    }

    @Test
    void laterReservationsGoStraightToTheOwnerTheAggregatorNamed() throws Exception {
        Aggregator owner = aggregator();
        Aggregator entry = aggregator();
        entry.owner = "127.0.0.1:" + owner.port();
        Reserver reserver = new Reserver(entry.url(), "k", Duration.ofSeconds(5));

        assertThat(reserver.reserve(check("acme")).get()).isInstanceOf(Reserver.Outcome.Reserved.class);
        assertThat(reserver.reserve(check("acme")).get()).isInstanceOf(Reserver.Outcome.Reserved.class);
        assertThat(reserver.reserve(check("globex")).get()).isInstanceOf(Reserver.Outcome.Reserved.class);

        assertThat(entry.posts.get()).isEqualTo(2); // acme's first, and globex's (its owner not known yet)
        assertThat(owner.posts.get()).isEqualTo(1);

        // an owner that stops answering is forgotten: the next reservation goes through aggregator.url again
        owner.close();
        assertThat(reserver.reserve(check("acme")).get()).isInstanceOf(Reserver.Outcome.Unavailable.class);
        assertThat(reserver.reserve(check("acme")).get()).isInstanceOf(Reserver.Outcome.Reserved.class);
        assertThat(entry.posts.get()).isEqualTo(3);
    }

    @Test
    void differentCustomersAreNotHeldBackByEachOther() throws Exception {
        Aggregator aggregator = aggregator();
        Reserver reserver = new Reserver(aggregator.url(), "k", Duration.ofSeconds(5));
        CompletableFuture<Reserver.Outcome> slow = reserver.reserve(check("slowco")); // answered after 2 s

        long started = System.nanoTime();
        assertThat(reserver.reserve(check("fastco")).get()).isInstanceOf(Reserver.Outcome.Reserved.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).isLessThan(Duration.ofSeconds(1));
        assertThat(slow.isDone()).isFalse();
        assertThat(slow.get()).isInstanceOf(Reserver.Outcome.Reserved.class);
    }

    @Test
    void whenTheFirstEntryInstanceIsGoneTheNextIsUsed() throws Exception {
        Aggregator gone = aggregator();
        Aggregator other = aggregator();
        other.owner = "127.0.0.1:" + other.port();
        gone.close();
        Reserver reserver = new Reserver(gone.url() + ", " + other.url() + "/", "k", Duration.ofSeconds(5));

        assertThat(reserver.reserve(check("acme")).get()).isInstanceOf(Reserver.Outcome.Reserved.class);
        assertThat(reserver.reserve(check("globex")).get()).isInstanceOf(Reserver.Outcome.Reserved.class);
        assertThat(other.posts.get()).isEqualTo(2);
    }
}

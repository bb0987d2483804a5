package io.capstream.testkit;

import java.util.concurrent.atomic.AtomicInteger;

/** A topic prefix unique to one test, so tests that share a cluster never share topics. */
public final class TopicNames {
    private static final AtomicInteger SEQUENCE = new AtomicInteger();

    private TopicNames() {}

    public static String prefixFor(String testName) {
        return testName.replaceAll("[^A-Za-z0-9]", "-").toLowerCase() + "-" + SEQUENCE.incrementAndGet() + ".";
    }
}

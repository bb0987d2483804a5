package io.capstream.testkit;

/** The {@code secret.keys} setting of services started by tests and benchmarks: a fixed key, for tests only. */
public final class TestSecrets {
    /** Key id {@code test}, 32 bytes of 0x01..0x20 in base64. */
    public static final String KEYS = "test:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

    private TestSecrets() {}
}

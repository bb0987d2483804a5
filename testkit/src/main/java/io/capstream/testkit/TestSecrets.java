package io.capstream.testkit;

/** Settings with key material for services started by tests and benchmarks: fixed keys, for tests only. */
public final class TestSecrets {
    /** The {@code secret.keys} setting: key id {@code test}, 32 bytes of 0x01..0x20 in base64. */
    public static final String KEYS = "test:AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHB0eHyA=";

    /** The {@code portal.token.keys} setting of services started by tests: key id {@code test}, 32 bytes of 0x21..0x40 in base64. */
    public static final String PORTAL_KEYS = "test:" + java.util.Base64.getEncoder().encodeToString(
            java.util.stream.IntStream.rangeClosed(0x21, 0x40).collect(java.io.ByteArrayOutputStream::new, (o, b) -> o.write(b), (a, b) -> { })
                    .toByteArray());

    private TestSecrets() {}
}

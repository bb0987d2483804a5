package io.capstream.runtime;

import java.util.List;
import java.util.concurrent.CompletionStage;

/**
 * An endpoint on the hot path, served on Jetty's core API by the thread that read the request (no
 * servlet layer, no hand-off to another thread per request; see {@link DirectHandler}). It must not
 * block: work that waits (a call to another service) returns a stage completed later.
 *
 * <p>Errors are thrown (or complete the stage) as {@link ApiException} or
 * {@link io.capstream.policy.input.InvalidInputException}, answered exactly as on the other routes.
 */
@FunctionalInterface
public interface DirectRoute {
    /** The answer to a POST with this {@code Authorization} header (null if absent) and body. */
    CompletionStage<Answer> answer(String authorization, byte[] body);

    /** A JSON answer: status, extra headers, the body's bytes. */
    record Answer(int status, List<Header> headers, byte[] body) {}

    record Header(String name, String value) {}
}

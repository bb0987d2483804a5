package io.capstream.runtime;

import java.nio.ByteBuffer;
import java.util.Map;
import java.util.concurrent.CompletionException;
import java.util.concurrent.CompletionStage;
import org.eclipse.jetty.http.HttpField;
import org.eclipse.jetty.http.HttpHeader;
import org.eclipse.jetty.http.HttpMethod;
import org.eclipse.jetty.io.Content;
import org.eclipse.jetty.server.Handler;
import org.eclipse.jetty.server.Request;
import org.eclipse.jetty.server.Response;
import org.eclipse.jetty.util.Callback;
import org.eclipse.jetty.util.Promise;
import org.eclipse.jetty.util.VirtualThreads;
import org.eclipse.jetty.util.thread.Invocable;

/**
 * In front of Javalin: POSTs to a {@link DirectRoute}'s path are answered here, on Jetty's core API,
 * by the thread that read the request (it declares itself non-blocking, so Jetty does not hand the
 * request to another thread); everything else goes to Javalin's servlet on the server's (virtual)
 * threads, as before. Other methods on a direct path are 405, as Javalin answers them.
 */
final class DirectHandler extends Handler.Wrapper {
    /** A check is a few hundred bytes; a body beyond this is refused before it is read further. */
    static final int MAX_BODY = 64 * 1024;
    private static final HttpField JSON = new HttpField(HttpHeader.CONTENT_TYPE, "application/json");

    private final Map<String, DirectRoute> routes;

    DirectHandler(Map<String, DirectRoute> routes) {
        this.routes = Map.copyOf(routes);
    }

    @Override
    public InvocationType getInvocationType() {
        return InvocationType.NON_BLOCKING;
    }

    @Override
    public boolean handle(Request request, Response response, Callback callback) {
        DirectRoute route = routes.get(Request.getPathInContext(request));
        if (route == null) {
            // Javalin's servlet blocks: on a virtual thread, as it would run without this handler
            VirtualThreads.execute(getServer().getThreadPool(), () -> {
                try {
                    if (!super.handle(request, response, callback)) {
                        Response.writeError(request, response, callback, 404);
                    }
                } catch (Throwable x) {
                    Response.writeError(request, response, callback, x);
                }
            });
            return true;
        }
        if (!HttpMethod.POST.is(request.getMethod())) {
            response.getHeaders().put(HttpHeader.ALLOW, "POST");
            write(response, callback, HttpServer.errorAnswer(new ApiException(405, "method_not_allowed",
                    request.getMethod() + " is not allowed on " + Request.getPathInContext(request), Map.of(), Map.of())));
            return true;
        }
        ApiException encoding = HttpServer.encodingRefused(request.getHeaders().get(HttpHeader.CONTENT_ENCODING));
        if (encoding != null) {
            write(response, callback, HttpServer.errorAnswer(encoding));
            return true;
        }
        long length = request.getLength();
        if (length > MAX_BODY) {
            write(response, callback, HttpServer.errorAnswer(new ApiException(413, "payload_too_large",
                    "the body is " + length + " bytes; at most " + MAX_BODY + " are accepted here", Map.of(), Map.of())));
            return true;
        }
        String authorization = request.getHeaders().get(HttpHeader.AUTHORIZATION);
        Content.Source.asByteArrayAsync(request, MAX_BODY, Promise.Invocable.from(Invocable.InvocationType.NON_BLOCKING, (body, failure) -> {
            if (failure != null) {
                write(response, callback, HttpServer.errorAnswer(new ApiException(400, "bad_request", "the body could not be read"
                        + " (at most " + MAX_BODY + " bytes are accepted here): " + failure.getMessage(), Map.of(), Map.of())));
                return;
            }
            CompletionStage<DirectRoute.Answer> answer;
            try {
                answer = route.answer(authorization, body);
            } catch (RuntimeException e) {
                write(response, callback, HttpServer.errorAnswer(HttpServer.asApiException(e, "POST", Request.getPathInContext(request))));
                return;
            }
            answer.whenComplete((a, e) -> write(response, callback, e == null ? a
                    : HttpServer.errorAnswer(HttpServer.asApiException(e instanceof CompletionException c && c.getCause() != null ? c.getCause() : e,
                            "POST", Request.getPathInContext(request)))));
        }));
        return true;
    }

    private static void write(Response response, Callback callback, DirectRoute.Answer answer) {
        response.setStatus(answer.status());
        response.getHeaders().put(JSON);
        for (DirectRoute.Header h : answer.headers()) {
            response.getHeaders().put(h.name(), h.value());
        }
        response.write(true, ByteBuffer.wrap(answer.body()), callback);
    }
}

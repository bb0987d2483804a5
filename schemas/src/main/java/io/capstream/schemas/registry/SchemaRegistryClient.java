package io.capstream.schemas.registry;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import java.io.IOException;
import java.net.URI;
import java.net.URLEncoder;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import org.apache.avro.Schema;

/**
 * A small client for the Confluent Schema Registry REST API, which Confluent Platform and Cloud,
 * Redpanda, Karapace and Apicurio ({@code /apis/ccompat/v7}) all speak. Schemas by id and ids by
 * (subject, schema) are cached for the life of the client: both are immutable in the registry.
 */
public final class SchemaRegistryClient {
    private static final String CONTENT_TYPE = "application/vnd.schemaregistry.v1+json";
    private static final ObjectMapper JSON = new ObjectMapper();

    private final String baseUrl;
    private final HttpClient http;
    private final Duration timeout;
    private final Map<Integer, Schema> schemasById = new ConcurrentHashMap<>();
    private final Map<String, Map<Schema, Integer>> idsBySubject = new ConcurrentHashMap<>();

    public SchemaRegistryClient(String baseUrl) {
        this(baseUrl, Duration.ofSeconds(10));
    }

    public SchemaRegistryClient(String baseUrl, Duration timeout) {
        this.baseUrl = baseUrl.endsWith("/") ? baseUrl.substring(0, baseUrl.length() - 1) : baseUrl;
        this.timeout = timeout;
        this.http = HttpClient.newBuilder().connectTimeout(timeout).build();
    }

    public String url() {
        return baseUrl;
    }

    /** Registers the schema under the subject (or finds it there) and returns its id. */
    public int register(String subject, Schema schema) {
        return idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>()).computeIfAbsent(schema, s -> {
            JsonNode body = send("POST", "/subjects/" + encode(subject) + "/versions", schemaBody(schema),
                    "register the schema " + schema.getFullName() + " under subject '" + subject + "'");
            return body.path("id").asInt();
        });
    }

    /**
     * The id of a schema already registered under the subject.
     *
     * @throws SchemaRegistryException with status 404 when it is not registered there
     */
    public int idOf(String subject, Schema schema) {
        Map<Schema, Integer> ids = idsBySubject.computeIfAbsent(subject, s -> new ConcurrentHashMap<>());
        Integer cached = ids.get(schema);
        if (cached != null) {
            return cached;
        }
        JsonNode body = send("POST", "/subjects/" + encode(subject), schemaBody(schema),
                "look up the schema " + schema.getFullName() + " under subject '" + subject + "'");
        int id = body.path("id").asInt();
        ids.put(schema, id);
        return id;
    }

    /** Registers the schema ({@code register}) or looks it up ({@code !register}), and returns its id. */
    public int idOrRegister(String subject, Schema schema, boolean register) {
        return register ? register(subject, schema) : idOf(subject, schema);
    }

    /** The schema with this id. */
    public Schema schemaById(int id) {
        return schemasById.computeIfAbsent(id, i -> {
            JsonNode body = send("GET", "/schemas/ids/" + i, null, "fetch schema id " + i);
            return new Schema.Parser().parse(body.path("schema").asText());
        });
    }

    /** Sets a subject's compatibility level (BACKWARD, FULL, NONE, ...). */
    public void setCompatibility(String subject, String level) {
        send("PUT", "/config/" + encode(subject), "{\"compatibility\":\"" + level + "\"}",
                "set compatibility of '" + subject + "' to " + level);
    }

    /** Sets the registry's global compatibility level. */
    public void setGlobalCompatibility(String level) {
        send("PUT", "/config", "{\"compatibility\":\"" + level + "\"}", "set global compatibility to " + level);
    }

    private JsonNode send(String method, String path, String body, String what) {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(baseUrl + path))
                .timeout(timeout)
                .header("Accept", CONTENT_TYPE + ", application/json")
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody() : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", CONTENT_TYPE);
        }
        HttpResponse<String> response;
        try {
            response = http.send(request.build(), HttpResponse.BodyHandlers.ofString());
        } catch (IOException e) {
            throw new SchemaRegistryException("could not " + what + ": the registry at " + baseUrl + " is unreachable (" + e + ")", -1, e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SchemaRegistryException("interrupted while trying to " + what, -1, e);
        }
        if (response.statusCode() / 100 != 2) {
            throw new SchemaRegistryException("the registry at " + baseUrl + " refused to " + what + ": "
                    + explain(response.statusCode()) + " (HTTP " + response.statusCode() + ": " + response.body() + ")",
                    response.statusCode(), null);
        }
        try {
            return JSON.readTree(response.body());
        } catch (IOException e) {
            throw new SchemaRegistryException("the registry at " + baseUrl + " answered " + what + " with no JSON: " + response.body(), response.statusCode(), e);
        }
    }

    private static String explain(int status) {
        return switch (status) {
            case 409 -> "the schema is incompatible with the versions already registered";
            case 422 -> "the schema is invalid";
            case 404 -> "not found";
            default -> "unexpected answer";
        };
    }

    private static String schemaBody(Schema schema) {
        try {
            return JSON.writeValueAsString(Map.of("schema", schema.toString()));
        } catch (IOException e) {
            throw new IllegalStateException(e);
        }
    }

    private static String encode(String s) {
        return URLEncoder.encode(s, StandardCharsets.UTF_8);
    }
}

package io.capstream.policy.input;

import java.net.Inet4Address;
import java.net.Inet6Address;
import java.net.InetAddress;
import java.net.URI;
import java.net.URISyntaxException;
import java.net.UnknownHostException;
import java.util.Locale;
import java.util.Set;
import java.util.regex.Pattern;

/**
 * Where webhooks may go (server-side request forgery guard). A webhook URL is https, names a public
 * host, and carries no credentials; loopback, link-local (cloud metadata), private, shared, unspecified,
 * multicast and reserved addresses are refused — as literals when the URL is set, and again after DNS
 * resolution when a webhook is sent ({@link #addressProblem}). Hosts on an explicit allow-list (for
 * development, such as the local stack's webhook sink) may use http and any address.
 */
public final class WebhookDestinations {
    private static final Pattern DOTTED_QUAD = Pattern.compile("(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}");
    /** Hosts that only look like names: numeric forms (2130706433, 0x7f.1, 0177.0.0.1) that resolvers read as addresses. */
    private static final Pattern NUMERIC_HOST = Pattern.compile("(0x[0-9a-f]+|[0-9]+)(\\.(0x[0-9a-f]+|[0-9]+))*\\.?");

    private WebhookDestinations() {}

    /** Why the URL may not receive webhooks, or null when it may. */
    public static String problem(String url, Set<String> allowedHosts) {
        URI uri;
        try {
            uri = new URI(url);
        } catch (URISyntaxException e) {
            return "not a valid URL";
        }
        String scheme = uri.getScheme() == null ? "" : uri.getScheme().toLowerCase(Locale.ROOT);
        String host = uri.getHost() == null ? null : uri.getHost().toLowerCase(Locale.ROOT);
        if (!(scheme.equals("https") || scheme.equals("http")) || host == null || host.isEmpty()) {
            return "an https URL with a host name, e.g. https://hooks.example.com/capstream";
        }
        if (uri.getRawUserInfo() != null) {
            return "no credentials in the URL; webhooks are signed instead";
        }
        if (allowed(host, uri.getPort(), allowedHosts)) {
            return null;
        }
        if (!scheme.equals("https")) {
            return "https only (http is for hosts on the webhook allow-list, in development)";
        }
        return hostProblem(host);
    }

    /** Whether a host (and port) is on the allow-list, which holds {@code host} or {@code host:port} entries. */
    public static boolean allowed(String host, int port, Set<String> allowedHosts) {
        String h = host.toLowerCase(Locale.ROOT);
        return allowedHosts.contains(h) || (port > 0 && allowedHosts.contains(h + ":" + port));
    }

    private static String hostProblem(String written) {
        // a fully qualified name ends with a dot: "localhost." is localhost
        String host = written.endsWith(".") && !written.endsWith("..") ? written.substring(0, written.length() - 1) : written;
        if (host.equals("localhost") || host.endsWith(".localhost") || host.endsWith(".internal") || host.endsWith(".local")) {
            return "'" + host + "' is a local or internal host; webhooks go to public hosts only";
        }
        String bare = host.startsWith("[") && host.endsWith("]") ? host.substring(1, host.length() - 1) : host;
        boolean literal = DOTTED_QUAD.matcher(bare).matches() || bare.contains(":");
        if (!literal) {
            return NUMERIC_HOST.matcher(bare).matches() ? "write an IP address as four decimal numbers (a.b.c.d), or use a host name" : null;
        }
        try {
            return addressProblem(InetAddress.getByName(bare)); // a literal: no name lookup
        } catch (UnknownHostException e) {
            return "not a valid IP address";
        }
    }

    /** Why webhooks may not go to this address, or null when it is public. */
    public static String addressProblem(InetAddress address) {
        if (address.isLoopbackAddress() || address.isAnyLocalAddress() || address.isLinkLocalAddress() || address.isSiteLocalAddress()
                || address.isMulticastAddress()) {
            return address.getHostAddress() + " is a loopback, link-local, private, unspecified or multicast address";
        }
        byte[] b = address.getAddress();
        int first = b[0] & 0xff;
        int second = b.length > 1 ? b[1] & 0xff : 0;
        boolean reserved = address instanceof Inet4Address
                ? first == 0 || (first == 100 && second >= 64 && second < 128) || (first == 192 && second == 0 && (b[2] & 0xff) == 0)
                  || (first == 198 && (second == 18 || second == 19)) || first >= 240
                : address instanceof Inet6Address && ((first & 0xfe) == 0xfc || isMappedOrCompatible(b));
        return reserved ? address.getHostAddress() + " is a private, shared or reserved address" : null;
    }

    /** IPv6 forms that embed an IPv4 address (::a.b.c.d, 64:ff9b::/96), which would bypass the IPv4 rules. */
    private static boolean isMappedOrCompatible(byte[] b) {
        boolean zeros = true;
        for (int i = 0; i < 10; i++) {
            zeros &= b[i] == 0;
        }
        boolean nat64 = (b[0] & 0xff) == 0x00 && (b[1] & 0xff) == 0x64 && (b[2] & 0xff) == 0xff && (b[3] & 0xff) == 0x9b;
        return zeros || nat64;
    }
}

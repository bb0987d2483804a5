package io.capstream.policy.input;

/**
 * Free text (an API key or a user, up to 256 characters of anything) as one part of a key whose parts are joined by
 * {@code |}: {@code %} and {@code |} are written as {@code %25} and {@code %7C}, so a part never holds the separator and
 * the key splits back into the parts it was made of. Text without either character is itself, so keys of such text read
 * the same as before the escaping.
 */
public final class KeyParts {
    private KeyParts() {}

    public static String escape(String part) {
        if (part.indexOf('|') < 0 && part.indexOf('%') < 0) {
            return part;
        }
        StringBuilder b = new StringBuilder(part.length() + 8);
        for (int i = 0; i < part.length(); i++) {
            char c = part.charAt(i);
            switch (c) {
                case '|' -> b.append("%7C");
                case '%' -> b.append("%25");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    /** The text of an escaped part; a {@code %} that starts no escape is itself (text written before the escaping). */
    public static String unescape(String part) {
        if (part.indexOf('%') < 0) {
            return part;
        }
        StringBuilder b = new StringBuilder(part.length());
        for (int i = 0; i < part.length(); i++) {
            if (part.startsWith("%7C", i)) {
                b.append('|');
                i += 2;
            } else if (part.startsWith("%25", i)) {
                b.append('%');
                i += 2;
            } else {
                b.append(part.charAt(i));
            }
        }
        return b.toString();
    }
}

package io.capstream.policy.input;

/**
 * How many of each thing one customer, cap, event or request may have. Each bound keeps what one
 * request can make the system do (records per event, notifications per crossing, work per check)
 * small and known; the API answers 400 beyond it. Documented in docs/api.md ("Limits").
 */
public final class Bounds {
    /** Thresholds of one cap or entitlement (and per notification channel): each can send a webhook and an email. */
    public static final int THRESHOLDS = 10;
    /** A customer's own caps: each matching cap is a running total written per event. */
    public static final int CAPS_PER_CUSTOMER = 20;
    /** Default caps of one plan. */
    public static final int CAPS_PER_PLAN = 20;
    /** A customer's grants (credits), open or spent. */
    public static final int GRANTS_PER_CUSTOMER = 50;
    /** Email recipients of one customer's notifications. */
    public static final int EMAILS = 10;
    /** Meters in one event's usage or one check's estimate. */
    public static final int METERS = 32;
    /** Characters of a label (one printable line, copied into email subjects and messages). */
    public static final int LABEL = 100;
    /** Characters of a URL (webhook, links). */
    public static final int URL = 2048;
    /** Strict reservations of one customer in one request to the aggregator (a sidecar's batch). */
    public static final int RESERVATIONS_PER_BATCH = 256;

    private Bounds() {}

    /**
     * Why a label is refused, or null when it is one printable line of at most {@link #LABEL}
     * characters without a link (labels are shown in emails: a link there would be a phishing tool).
     */
    public static String labelProblem(String label) {
        if (label.length() > LABEL) {
            return "at most " + LABEL + " characters";
        }
        if (label.isBlank()) {
            return "at least one visible character";
        }
        // by code point: an emoji (a surrogate pair) is printable, half of one (a lone surrogate) is not
        for (int i = 0; i < label.length(); ) {
            int c = label.codePointAt(i);
            int type = Character.getType(c);
            if (type == Character.CONTROL || type == Character.FORMAT || type == Character.LINE_SEPARATOR || type == Character.PARAGRAPH_SEPARATOR
                    || type == Character.UNASSIGNED || type == Character.PRIVATE_USE || type == Character.SURROGATE) {
                return "one line of printable characters (no line breaks or control characters)";
            }
            i += Character.charCount(c);
        }
        String lower = label.toLowerCase(java.util.Locale.ROOT);
        if (lower.contains("://") || lower.contains("www.")) {
            return "no links: labels are shown in emails and messages";
        }
        return null;
    }
}

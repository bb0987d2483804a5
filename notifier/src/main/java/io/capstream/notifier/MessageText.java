package io.capstream.notifier;

import io.capstream.policy.decision.Wording;
import io.capstream.schemas.ThresholdCrossed;
import java.math.BigDecimal;
import java.time.OffsetDateTime;
import java.time.ZoneId;
import java.util.List;
import java.util.Locale;

/**
 * What a notification says, in words people act on: which limit, how much is used of how much, when
 * it resets in the customer's timezone, what happens now, and the way out.
 */
final class MessageText {
    private MessageText() {}

    static String amount(BigDecimal value, String measure) {
        return Wording.amount(value, measure);
    }

    static String percent(String threshold) {
        return Wording.percent(new BigDecimal(threshold));
    }

    static String resetsAt(ThresholdCrossed e) {
        return Wording.when(OffsetDateTime.parse(e.getResetsAt()).toInstant(), ZoneId.of(e.getTimezone()));
    }

    /** A runaway circuit breaker that opened (kind {@code runaway}): used is the rate, limit the trip rate, it resets when it closes. */
    static boolean runaway(ThresholdCrossed e) {
        return "runaway".equals(e.getKind());
    }

    static String subject(ThresholdCrossed e) {
        if (runaway(e)) {
            return e.getCustomer() + ": runaway spend, " + amount(e.getUsed(), e.getMeasure()) + " (trips above " + amount(e.getLimit(), e.getMeasure()) + ")";
        }
        return e.getCustomer() + ": " + e.getLabel() + " at " + percent(e.getThreshold()) + " (" + amount(e.getUsed(), e.getMeasure())
                + " of " + amount(e.getLimit(), e.getMeasure()) + ")";
    }

    /** What happens now, said at 100 % (and what will happen at 100 %, said before). */
    static String consequence(ThresholdCrossed e) {
        if (runaway(e)) {
            return switch (e.getAction().toLowerCase(Locale.ROOT)) {
                case "block" -> "Billable requests are paused until it closes.";
                case "throttle" -> "Requests are held to the usual rate until it closes.";
                default -> "Nothing is blocked: this breaker only notifies.";
            };
        }
        boolean reached = new BigDecimal(e.getThreshold()).compareTo(BigDecimal.ONE) >= 0;
        String action = e.getAction().toLowerCase(Locale.ROOT);
        if (reached) {
            return switch (action) {
                case "block" -> "Requests that would go over this limit are now refused until it resets or the limit is raised.";
                case "downgrade" -> "Requests now run on a cheaper model until the limit resets or is raised.";
                case "throttle" -> "Requests are now slowed down until the limit resets or is raised.";
                case "bill_overage" -> "Usage beyond this allowance is now billed as overage.";
                default -> "Nothing is blocked: this limit only notifies.";
            };
        }
        return switch (action) {
            case "block" -> "At 100 % requests that would go over it will be refused.";
            case "downgrade" -> "At 100 % requests will run on a cheaper model.";
            case "throttle" -> "At 100 % requests will be slowed down.";
            case "bill_overage" -> "Beyond 100 % usage is billed as overage.";
            default -> "This limit only notifies; nothing will be blocked.";
        };
    }

    static String text(ThresholdCrossed e) {
        return text(e, List.of(e.getThreshold()));
    }

    /**
     * One change that crossed several thresholds at once ({@code notify_on_jump: highest}) says so:
     * "It passed 50 %, 80 % and 100 % at once."; {@code e} is the highest of them.
     */
    static String jump(List<String> thresholds) {
        if (thresholds.size() < 2) {
            return "";
        }
        List<String> named = thresholds.stream().map(MessageText::percent).toList();
        return "It passed " + String.join(", ", named.subList(0, named.size() - 1)) + " and " + named.getLast() + " at once.";
    }

    static String text(ThresholdCrossed e, List<String> thresholds) {
        if (runaway(e)) {
            return "Runaway spend protection tripped for " + e.getCustomer() + (e.getLimitId().startsWith("runaway:key:")
                    ? " (API key " + e.getLimitId().substring("runaway:key:".length()) + ")" : "") + ": spend ran at "
                    + amount(e.getUsed(), e.getMeasure()) + ", above " + amount(e.getLimit(), e.getMeasure())
                    + " (many times its usual rate for this hour; often a bug or a leaked key).\n\n" + consequence(e) + "\n\nIt closes by itself on "
                    + resetsAt(e) + ", or now with POST /v1/customers/" + e.getCustomer() + "/runaway/reset.\n";
        }
        StringBuilder b = new StringBuilder();
        b.append(e.getLabel()).append(" for ").append(e.getCustomer()).append(" has reached ").append(percent(e.getThreshold()))
                .append(": ").append(amount(e.getUsed(), e.getMeasure())).append(" used of ").append(amount(e.getLimit(), e.getMeasure()))
                .append('.').append(thresholds.size() > 1 ? " " + jump(thresholds) : "").append("\n\n").append(consequence(e)).append("\n\nIt resets on ").append(resetsAt(e)).append(".\n");
        if (e.getRaiseCapUrl() != null) {
            b.append("\nRaise the limit: ").append(e.getRaiseCapUrl()).append('\n');
        }
        if (e.getUpgradeUrl() != null) {
            b.append("Upgrade the plan: ").append(e.getUpgradeUrl()).append('\n');
        }
        if (e.getTopUpUrl() != null) {
            b.append("Top up credit: ").append(e.getTopUpUrl()).append('\n');
        }
        return b.toString();
    }

    static String html(ThresholdCrossed e) {
        return html(e, List.of(e.getThreshold()));
    }

    static String html(ThresholdCrossed e, List<String> thresholds) {
        StringBuilder b = new StringBuilder("<!doctype html><html><body style=\"font-family:sans-serif\">");
        if (runaway(e)) {
            b.append("<h2>Runaway spend protection tripped</h2>");
            for (String paragraph : text(e, thresholds).strip().split("\n\n")) {
                b.append("<p>").append(escape(paragraph)).append("</p>");
            }
            return b.append("</body></html>").toString();
        }
        b.append("<h2>").append(escape(e.getLabel())).append(" at ").append(percent(e.getThreshold())).append("</h2>")
                .append("<p><strong>").append(amount(e.getUsed(), e.getMeasure())).append("</strong> used of <strong>")
                .append(amount(e.getLimit(), e.getMeasure())).append("</strong> for ").append(escape(e.getCustomer())).append(".</p>")
                .append(thresholds.size() > 1 ? "<p>" + escape(jump(thresholds)) + "</p>" : "")
                .append("<p>").append(escape(consequence(e))).append("</p>")
                .append("<p>It resets on ").append(escape(resetsAt(e))).append(".</p><p>");
        if (e.getRaiseCapUrl() != null) {
            b.append("<a href=\"").append(escape(e.getRaiseCapUrl())).append("\">Raise the limit</a> ");
        }
        if (e.getUpgradeUrl() != null) {
            b.append("<a href=\"").append(escape(e.getUpgradeUrl())).append("\">Upgrade the plan</a> ");
        }
        if (e.getTopUpUrl() != null) {
            b.append("<a href=\"").append(escape(e.getTopUpUrl())).append("\">Top up credit</a>");
        }
        return b.append("</p></body></html>").toString();
    }

    private static String escape(String s) {
        return s.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace("\"", "&quot;");
    }
}

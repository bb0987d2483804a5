package io.capstream.ingest;

import io.capstream.policy.limit.Cap;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.customer.Grant;
import java.math.BigDecimal;
import java.time.ZoneId;
import java.util.List;
import java.util.Locale;

/** A customer's configuration as the control API shows it; the webhook secret is never shown, only whether it is set. */
record CustomerView(String id, String plan, String timezone, int billingAnchorDay, Contacts contacts, Overrides overrides,
                    String status, List<CapView> caps, List<GrantView> grants) {
    record Contacts(List<String> emails, String webhookUrl, boolean webhookSecretSet, List<String> emailThresholds,
                    List<String> webhookThresholds, String notifyOnJump) {}

    /** {@code runaway} is null unless the customer has its own runaway breaker settings. */
    record Overrides(boolean noHardCaps, RunawayView runaway) {}

    record RunawayView(boolean enabled, String factor, String floor, String absolute, Integer sustainMinutes, String action, Integer coolDownMinutes) {
        static RunawayView of(io.capstream.policy.runaway.RunawaySettings s) {
            return new RunawayView(s.enabled(), s.factor().map(BigDecimal::toPlainString).orElse(null), s.floor().map(BigDecimal::toPlainString).orElse(null),
                    s.absolute().map(BigDecimal::toPlainString).orElse(null), s.sustainMinutes().orElse(null),
                    s.action().map(a -> a.name().toLowerCase(Locale.ROOT)).orElse(null), s.coolDownMinutes().orElse(null));
        }
    }

    record CapView(String id, String label, String amount, String measure, String feature, String model, String user, String apiKey,
                   String period, String timezone, boolean overageOnly, boolean ignoreGrants, List<String> thresholds,
                   String action, boolean strict, Boolean failOpen) {}

    record GrantView(String id, String amount, String category, int priority, String effectiveAt, String expiresAt, String feature) {}

    static CustomerView of(Customer c) {
        return new CustomerView(c.id(), c.plan(), c.timezone().getId(), c.billingAnchorDay(),
                new Contacts(c.contacts().emails(), c.contacts().webhookUrl().orElse(null), c.contacts().webhookSecret().isPresent(),
                        c.contacts().emailThresholds().stream().map(BigDecimal::toPlainString).toList(),
                        c.contacts().webhookThresholds().stream().map(BigDecimal::toPlainString).toList(),
                        c.contacts().notifyOnJump().name().toLowerCase(Locale.ROOT)),
                new Overrides(c.noHardCaps(), c.runaway().map(RunawayView::of).orElse(null)), c.status().name().toLowerCase(Locale.ROOT),
                c.caps().stream().map(CustomerView::cap).toList(), c.grants().stream().map(CustomerView::grant).toList());
    }

    static CapView cap(Cap cap) {
        String amount = cap.measure().isMoney() ? Decimals.formatMoney(cap.amount()) : Decimals.formatQuantity(cap.amount());
        return new CapView(cap.id(), cap.label(), amount, cap.measure().name(), cap.filter().feature(), cap.filter().model(),
                cap.filter().user(), cap.filter().apiKey(), cap.period().text(), cap.timezone().map(ZoneId::getId).orElse(null),
                cap.overageOnly(), cap.ignoreGrants(), cap.thresholds().stream().map(BigDecimal::toPlainString).toList(),
                cap.action().name().toLowerCase(Locale.ROOT), cap.strict(), cap.failOpen().orElse(null));
    }

    static GrantView grant(Grant g) {
        return new GrantView(g.id(), Decimals.formatMoney(g.amount()), g.category(), g.priority(), g.effectiveAt().toString(),
                g.expiresAt().map(Object::toString).orElse(null), g.feature().orElse(null));
    }
}

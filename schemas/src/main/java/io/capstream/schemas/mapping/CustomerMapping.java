package io.capstream.schemas.mapping;

import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.LimitAction;
import io.capstream.policy.limit.CapFilter;
import io.capstream.policy.customer.Customer;
import io.capstream.policy.input.Decimals;
import io.capstream.policy.customer.Grant;
import io.capstream.policy.limit.Measure;
import io.capstream.policy.limit.ResetSchedule;
import io.capstream.schemas.CapRecord;
import io.capstream.schemas.CustomerRecord;
import io.capstream.schemas.GrantRecord;
import io.capstream.schemas.RunawayOverride;
import io.capstream.policy.runaway.RunawaySettings;
import java.math.BigDecimal;
import java.time.Instant;
import java.time.ZoneId;
import java.util.List;
import java.util.Locale;
import java.util.Optional;

/** Between the domain's {@link Customer} and its record on the {@code customers} topic. */
public final class CustomerMapping {
    private CustomerMapping() {}

    public static CustomerRecord toRecord(Customer c, Instant updatedAt) {
        return CustomerRecord.newBuilder()
                .setId(c.id()).setPlan(c.plan()).setTimezone(c.timezone().getId()).setBillingAnchorDay(c.billingAnchorDay())
                .setEmails(c.contacts().emails()).setWebhookUrl(c.contacts().webhookUrl().orElse(null))
                .setWebhookSecret(c.contacts().webhookSecret().orElse(null))
                .setEmailThresholds(c.contacts().emailThresholds().stream().map(BigDecimal::toPlainString).toList())
                .setWebhookThresholds(c.contacts().webhookThresholds().stream().map(BigDecimal::toPlainString).toList())
                .setNotifyOnJump(c.contacts().notifyOnJump().name().toLowerCase(Locale.ROOT))
                .setNoHardCaps(c.noHardCaps()).setStatus(c.status().name().toLowerCase(Locale.ROOT))
                .setCaps(c.caps().stream().map(CustomerMapping::toRecord).toList())
                .setGrants(c.grants().stream().map(CustomerMapping::toRecord).toList())
                .setRunaway(c.runaway().map(CustomerMapping::toRecord).orElse(null))
                .setUpdatedAt(updatedAt)
                .build();
    }

    public static Customer fromRecord(CustomerRecord r) {
        return new Customer(r.getId(), r.getPlan(), ZoneId.of(r.getTimezone()), r.getBillingAnchorDay(),
                new Customer.Contacts(r.getEmails(), Optional.ofNullable(r.getWebhookUrl()), Optional.ofNullable(r.getWebhookSecret()),
                        r.getEmailThresholds().stream().map(BigDecimal::new).toList(),
                        r.getWebhookThresholds().stream().map(BigDecimal::new).toList(),
                        Customer.Contacts.OnJump.valueOf(r.getNotifyOnJump().toUpperCase(Locale.ROOT))),
                r.getNoHardCaps(), Customer.Status.valueOf(r.getStatus().toUpperCase(Locale.ROOT)),
                r.getCaps().stream().map(CustomerMapping::fromRecord).toList(),
                r.getGrants().stream().map(CustomerMapping::fromRecord).toList(),
                Optional.ofNullable(r.getRunaway()).map(CustomerMapping::fromRecord));
    }

    static RunawayOverride toRecord(RunawaySettings s) {
        return new RunawayOverride(s.enabled(), s.factor().map(BigDecimal::toPlainString).orElse(null),
                s.floor().map(BigDecimal::toPlainString).orElse(null), s.absolute().map(BigDecimal::toPlainString).orElse(null),
                s.sustainMinutes().orElse(null), s.action().map(a -> a.name().toLowerCase(Locale.ROOT)).orElse(null), s.coolDownMinutes().orElse(null));
    }

    static RunawaySettings fromRecord(RunawayOverride r) {
        return new RunawaySettings(r.getEnabled(), Optional.ofNullable(r.getFactor()).map(BigDecimal::new),
                Optional.ofNullable(r.getFloor()).map(BigDecimal::new), Optional.ofNullable(r.getAbsolute()).map(BigDecimal::new),
                Optional.ofNullable(r.getSustainMinutes()), Optional.ofNullable(r.getAction()).map(a -> LimitAction.valueOf(a.toUpperCase(Locale.ROOT))),
                Optional.ofNullable(r.getCoolDownMinutes()));
    }

    static CapRecord toRecord(Cap cap) {
        return CapRecord.newBuilder()
                .setId(cap.id()).setLabel(cap.label()).setAmount(Decimals.money(cap.amount())).setMeasure(cap.measure().name())
                .setFeature(cap.filter().feature()).setModel(cap.filter().model()).setUser(cap.filter().user())
                .setApiKey(cap.filter().apiKey()).setPeriod(cap.period().text()).setTimezone(cap.timezone().map(ZoneId::getId).orElse(null))
                .setOverageOnly(cap.overageOnly()).setIgnoreGrants(cap.ignoreGrants())
                .setThresholds(cap.thresholds().stream().map(BigDecimal::toPlainString).toList())
                .setAction(cap.action().name().toLowerCase(Locale.ROOT)).setStrict(cap.strict()).setFailOpen(cap.failOpen().orElse(null))
                .build();
    }

    static Cap fromRecord(CapRecord r) {
        List<BigDecimal> thresholds = r.getThresholds().isEmpty() ? Cap.DEFAULT_THRESHOLDS
                : r.getThresholds().stream().map(BigDecimal::new).toList();
        return new Cap(r.getId(), r.getLabel(), r.getAmount().stripTrailingZeros(), Measure.of(r.getMeasure()),
                new CapFilter(r.getFeature(), r.getModel(), r.getUser(), r.getApiKey()), ResetSchedule.parse(r.getPeriod()),
                Optional.ofNullable(r.getTimezone()).map(ZoneId::of), r.getOverageOnly(), r.getIgnoreGrants(), thresholds,
                LimitAction.valueOf(r.getAction().toUpperCase(Locale.ROOT)), r.getStrict(), Optional.ofNullable(r.getFailOpen()));
    }

    static GrantRecord toRecord(Grant g) {
        return GrantRecord.newBuilder()
                .setId(g.id()).setAmount(Decimals.money(g.amount())).setCategory(g.category()).setPriority(g.priority())
                .setEffectiveAt(g.effectiveAt()).setExpiresAt(g.expiresAt().orElse(null)).setFeature(g.feature().orElse(null))
                .build();
    }

    static Grant fromRecord(GrantRecord r) {
        return new Grant(r.getId(), r.getAmount().stripTrailingZeros(), r.getCategory(), r.getPriority(), r.getEffectiveAt(),
                Optional.ofNullable(r.getExpiresAt()), Optional.ofNullable(r.getFeature()));
    }
}

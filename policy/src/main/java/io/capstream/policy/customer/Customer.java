package io.capstream.policy.customer;

import io.capstream.policy.catalogue.Plan;
import io.capstream.policy.limit.Cap;
import io.capstream.policy.limit.Limit;
import io.capstream.policy.runaway.RunawayRule;
import io.capstream.policy.runaway.RunawaySettings;

import java.time.ZoneId;
import java.util.List;
import java.util.Optional;

/**
 * A customer (tenant) as configured through the control API.
 *
 * @param noHardCaps trusted customers: nothing blocks, notifications still fire
 * @param caps       the customer's own caps; together with the plan's default caps they make
 *                   {@link #effectiveCaps}
 * @param runaway    the customer's own runaway breaker settings ({@code overrides.runaway}) on top of its plan's
 */
public record Customer(String id, String plan, ZoneId timezone, int billingAnchorDay, Contacts contacts, boolean noHardCaps,
                       Status status, List<Cap> caps, List<Grant> grants, Optional<RunawaySettings> runaway) {
    public Customer(String id, String plan, ZoneId timezone, int billingAnchorDay, Contacts contacts, boolean noHardCaps,
                    Status status, List<Cap> caps, List<Grant> grants) {
        this(id, plan, timezone, billingAnchorDay, contacts, noHardCaps, status, caps, grants, Optional.empty());
    }

    public enum Status { ACTIVE, DISABLED }

    /**
     * Where notifications go, and which thresholds each channel wants (empty: every threshold). The
     * webhook secret signs webhooks and is never shown back.
     */
    /**
     * Where threshold notifications go, and how a jump over several thresholds at once is told:
     * {@code EACH} (default) one notification per threshold, lowest first; {@code HIGHEST} one
     * notification naming all of them.
     */
    public record Contacts(List<String> emails, Optional<String> webhookUrl, Optional<String> webhookSecret,
                           List<java.math.BigDecimal> emailThresholds, List<java.math.BigDecimal> webhookThresholds, OnJump notifyOnJump) {
        public static final Contacts NONE = new Contacts(List.of(), Optional.empty(), Optional.empty(), List.of(), List.of());

        public enum OnJump { EACH, HIGHEST }

        public Contacts {
            emails = List.copyOf(emails);
            emailThresholds = List.copyOf(emailThresholds);
            webhookThresholds = List.copyOf(webhookThresholds);
            java.util.Objects.requireNonNull(notifyOnJump);
        }

        /** Contacts notified of each threshold on its own ({@link OnJump#EACH}). */
        public Contacts(List<String> emails, Optional<String> webhookUrl, Optional<String> webhookSecret,
                        List<java.math.BigDecimal> emailThresholds, List<java.math.BigDecimal> webhookThresholds) {
            this(emails, webhookUrl, webhookSecret, emailThresholds, webhookThresholds, OnJump.EACH);
        }

        public boolean emailWants(java.math.BigDecimal threshold) {
            return wants(emailThresholds, threshold);
        }

        public boolean webhookWants(java.math.BigDecimal threshold) {
            return wants(webhookThresholds, threshold);
        }

        private static boolean wants(List<java.math.BigDecimal> wanted, java.math.BigDecimal threshold) {
            return wanted.isEmpty() || wanted.stream().anyMatch(t -> t.compareTo(threshold) == 0);
        }
    }

    public Customer {
        caps = List.copyOf(caps);
        grants = List.copyOf(grants);
    }

    /** A customer nobody configured yet: the policy's default plan, UTC, billed from the 1st. */
    public static Customer unconfigured(String id, String defaultPlan) {
        return new Customer(id, defaultPlan, ZoneId.of("UTC"), 1, Contacts.NONE, false, Status.ACTIVE, List.of(), List.of());
    }

    /** The plan's default caps, each replaced by the customer's cap of the same id, then the customer's other caps. */
    public List<Cap> effectiveCaps(Optional<Plan> plan) {
        List<Cap> result = new java.util.ArrayList<>();
        plan.ifPresent(p -> p.defaultCaps().stream()
                .filter(d -> caps.stream().noneMatch(c -> c.id().equals(d.id())))
                .forEach(result::add));
        result.addAll(caps);
        return result;
    }

    /**
     * Every limit on this customer: the plan's ({@link Plan#limits}, entitlements first), then its caps
     * ({@link #effectiveCaps}). The one list that booking, the usage report and enforcement loop over.
     */
    public List<Limit> limits(Optional<Plan> plan) {
        List<Limit> result = new java.util.ArrayList<>(plan.map(Plan::limits).orElse(List.of()));
        result.addAll(effectiveCaps(plan));
        return result;
    }


    /**
     * The runaway circuit breaker watching this customer: its plan's, with the customer's own settings on top
     * ({@link RunawaySettings}); for a trusted customer ({@code no_hard_caps}) it only notifies.
     */
    public Optional<RunawayRule> runawayRule(Optional<Plan> plan) {
        Optional<RunawayRule> planRule = plan.flatMap(Plan::runaway);
        Optional<RunawayRule> rule = runaway.isPresent() ? runaway.get().over(planRule) : planRule;
        return noHardCaps ? rule.map(RunawayRule::notifyOnly) : rule;
    }

    public Customer withContacts(Contacts newContacts) {
        return new Customer(id, plan, timezone, billingAnchorDay, newContacts, noHardCaps, status, caps, grants, runaway);
    }

    public Customer withCaps(List<Cap> newCaps) {
        return new Customer(id, plan, timezone, billingAnchorDay, contacts, noHardCaps, status, newCaps, grants, runaway);
    }

    public Customer withGrants(List<Grant> newGrants) {
        return new Customer(id, plan, timezone, billingAnchorDay, contacts, noHardCaps, status, caps, newGrants, runaway);
    }
}

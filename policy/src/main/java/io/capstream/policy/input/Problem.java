package io.capstream.policy.input;

/**
 * One problem with input from outside: the field at fault (a path such as {@code cap.amount} or
 * {@code plans.pro.entitlements.chat.over}) and a sentence saying what is expected there.
 */
public record Problem(String field, String message) {
    @Override
    public String toString() {
        return field.isEmpty() ? message : field + ": " + message;
    }
}

package io.capstream.runtime;

import static org.assertj.core.api.Assertions.assertThat;

import io.capstream.policy.input.Problem;
import java.util.List;
import java.util.stream.IntStream;
import org.junit.jupiter.api.Test;

/** How an answer lists the problems of a request: all of them counted, at most a hundred listed. */
class ApiExceptionTest {
    static List<Problem> problems(int n) {
        return IntStream.range(0, n).mapToObj(i -> new Problem("f" + i, "bad")).toList();
    }

    @Test
    void upToAHundredProblemsAreAllListed() {
        ApiException e = ApiException.invalid(problems(100));
        assertThat(e.getMessage()).isEqualTo("100 problem(s) in the request: f0: bad (and 99 more); nothing was changed");
        assertThat((List<?>) e.details().get("errors")).hasSize(100);
        assertThat(ApiException.invalidQuery(problems(1)).getMessage()).as("a read changes nothing anyway").isEqualTo("1 problem(s) in the request: f0: bad");
    }

    @Test
    void beyondAHundredTheFirstHundredAreListedAndAllAreCounted() {
        ApiException e = ApiException.problems(422, "invalid_policy", "the policy document", problems(60_000), ApiException::error,
                "; nothing was applied");
        assertThat(e.status()).isEqualTo(422);
        assertThat(e.getMessage()).isEqualTo("60000 problem(s) in the policy document (the first 100 are listed); nothing was applied");
        List<?> listed = (List<?>) e.details().get("errors");
        assertThat(listed).hasSize(ApiException.MAX_LISTED_PROBLEMS).first().isEqualTo(java.util.Map.of("field", "f0", "message", "bad"));
        assertThat(listed.get(99)).isEqualTo(java.util.Map.of("field", "f99", "message", "bad"));
    }
}

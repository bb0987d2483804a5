package io.capstream.systemtests;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import com.fasterxml.jackson.databind.JsonNode;
import io.capstream.aggregator.AggregatorConfig;
import io.capstream.aggregator.AggregatorService;
import io.capstream.enforcement.EnforcementService;
import io.capstream.runtime.PortalTokens;
import io.capstream.testkit.TestSecrets;
import java.io.IOException;
import java.math.BigDecimal;
import java.net.URI;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Clock;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.openqa.selenium.By;
import org.openqa.selenium.Dimension;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.TakesScreenshot;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;

/**
 * The customer usage page in headless Chromium (Debian's chromium and chromedriver, which {@code .ci/run}
 * installs) against a real stack: it shows what the APIs answer, a cap changed on the page reaches the
 * API and the sidecar's decisions, and a link with an expired or foreign token is refused.
 */
class PortalIT {
    static final Path CHROMIUM = Path.of("/usr/bin/chromium");
    static final Path CHROMEDRIVER = Path.of("/usr/bin/chromedriver");
    static Stack stack;
    static AggregatorService aggregator;
    static EnforcementService sidecar;
    static WebDriver browser;

    @BeforeAll
    static void start() throws Exception {
        Assumptions.assumeTrue(Files.isExecutable(CHROMIUM) && Files.isExecutable(CHROMEDRIVER),
                "the browser test needs Debian's chromium and chromium-driver (/usr/bin/chromium, /usr/bin/chromedriver);"
                        + " .ci/run installs them with apt-get where it can");
        stack = new Stack("portal-it", "/portal-policy.yaml");
        Map<String, String> config = stack.aggregatorConfig(0);
        config.put(AggregatorConfig.CONTROL_URL, "http://127.0.0.1:" + stack.ingest.port());
        aggregator = new AggregatorService(AggregatorConfig.from(config), Clock.systemUTC());
        sidecar = stack.sidecar(aggregator.port(), 100);
        Stack.awaitReady(aggregator.port());
        Stack.awaitReady(sidecar.port());

        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM.toFile());
        options.addArguments("--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,2000",
                "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync",
                "--user-data-dir=" + Files.createTempDirectory("portal-it-chromium"));
        browser = new ChromeDriver(new ChromeDriverService.Builder().usingDriverExecutable(CHROMEDRIVER.toFile()).usingAnyFreePort().build(), options);
    }

    @AfterAll
    static void stop() {
        if (browser != null) {
            browser.quit();
        }
        if (sidecar != null) {
            sidecar.close();
        }
        if (aggregator != null) {
            aggregator.close();
        }
        if (stack != null) {
            stack.close();
        }
    }

    static JsonNode ok(HttpResponse<String> response) {
        assertThat(response.statusCode()).as(response.body()).isBetween(200, 299);
        return response.body().isEmpty() ? null : Stack.json(response);
    }

    static JsonNode query(String path) {
        return ok(stack.control("GET", path, null, Stack.ADMIN_KEY, aggregator.port()));
    }

    /** Opens the page afresh (a new fragment alone would not load it again) and waits until it has loaded or given up. */
    void open(String token) {
        browser.get("about:blank");
        browser.get("http://127.0.0.1:" + aggregator.port() + "/portal#token=" + token);
        await().atMost(Duration.ofSeconds(30)).until(() -> browser.findElement(By.tagName("body")).getAttribute("data-loaded") != null);
    }

    /** What the page shows for an exact amount: dollars to the cent, half up. */
    static String dollars(String exact) {
        return "$" + new BigDecimal(exact).setScale(2, java.math.RoundingMode.HALF_UP).toPlainString();
    }

    static String text(WebElement scope, String css) {
        return scope.findElement(By.cssSelector(css)).getText();
    }

    @Test
    void thePageShowsWhatTheApisAnswerAndACapChangedOnItReachesTheSidecar() throws IOException {
        // given a customer in Berlin with a grant, a $20 cap and $13.50 of usage on two features and two models
        ok(stack.control("PUT", "/v1/customers/portal-co", "{\"plan\": \"pro\", \"timezone\": \"Europe/Berlin\"}", Stack.ADMIN_KEY));
        ok(stack.control("POST", "/v1/customers/portal-co/grants", "{\"id\": \"welcome\", \"amount\": \"5\", \"category\": \"promotional\","
                + " \"effective_at\": \"2026-01-01T00:00:00Z\"}", Stack.ADMIN_KEY));
        ok(stack.control("PUT", "/v1/customers/portal-co/caps/team", "{\"label\": \"Team budget\", \"amount\": \"20\", \"thresholds\": [0.5, 0.8, 1.0]}",
                Stack.ADMIN_KEY));
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() ->
                assertThat(query("/v1/customers/portal-co/usage").get("limits").findValuesAsText("id")).contains("cap:team"));
        Instant now = Instant.now();
        StringBuilder events = new StringBuilder("[");
        for (int i = 0; i < 9; i++) { // 9 × 3 requests × $0.50 = $13.50, plus tokens priced per model
            events.append(i == 0 ? "" : ",").append("{\"id\": \"p").append(i).append("\", \"customer\": \"portal-co\", \"feature\": \"")
                    .append(i % 3 == 0 ? "search" : "chat").append("\", \"model\": \"").append(i % 2 == 0 ? "gpt-4o" : "gpt-4o-mini")
                    .append("\", \"api_key\": \"key_").append(i % 2).append("\", \"time\": \"").append(now.minus(Duration.ofMinutes(7L * i)))
                    .append("\", \"usage\": {\"requests\": 3, \"input_tokens\": 200000}}");
        }
        assertThat(stack.postEvents(events.append("]").toString()).statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(query("/v1/customers/portal-co/usage").get("features")
                .findValues("events").stream().mapToLong(JsonNode::asLong).sum()).isEqualTo(9));
        JsonNode usage = query("/v1/customers/portal-co/usage");
        JsonNode series = query("/v1/customers/portal-co/usage/series?granularity=day&group_by=feature");
        String token = ok(stack.control("POST", "/v1/customers/portal-co/portal-tokens", "{}", Stack.ADMIN_KEY, aggregator.port())).get("token").asText();

        // when the customer opens its page
        open(token);

        // then it shows the numbers the APIs answer
        assertThat(browser.findElement(By.tagName("body")).getAttribute("data-loaded")).isEqualTo("true");
        for (JsonNode limit : usage.get("limits")) {
            WebElement card = browser.findElement(By.cssSelector("[data-limit='" + limit.get("id").asText() + "']"));
            assertThat(text(card, ".used")).isEqualTo(dollars(limit.get("used").asText()));
            assertThat(card.findElement(By.cssSelector(".used")).getAttribute("title")).isEqualTo(limit.get("used").asText() + " exactly");
            assertThat(text(card, ".limit")).isEqualTo(dollars(limit.get("limit").asText()));
            assertThat(text(card, ".percent")).isEqualTo(limit.get("percent").asText() + " %");
            assertThat(text(card, ".resets")).contains("Europe/Berlin").contains("in ");
        }
        WebElement team = browser.findElement(By.cssSelector("[data-limit='cap:team']"));
        assertThat(text(team, ".used")).isEqualTo(dollars(usage.get("total_cost").asText()));
        assertThat(browser.findElement(By.id("projected")).getText()).isEqualTo(dollars(usage.get("bill").get("projected_total").asText()));
        assertThat(browser.findElement(By.id("series-table")).getAttribute("data-total")).isEqualTo(series.get("total").get("cost").asText());
        assertThat(new BigDecimal(series.get("total").get("cost").asText())).isEqualByComparingTo(usage.get("total_cost").asText());
        assertThat(browser.findElements(By.cssSelector("#series-table tbody tr"))).extracting(WebElement::getText)
                .anyMatch(row -> row.contains("chat")).anyMatch(row -> row.contains("search"));
        assertThat(text(browser.findElement(By.cssSelector("[data-grant='welcome']")), ".remaining"))
                .isEqualTo(dollars(usage.get("grants").get(0).get("remaining").asText()));
        assertThat(browser.findElement(By.id("chart")).getSize().getHeight()).isGreaterThan(100);
        // every control has a label, and on a phone nothing is wider than the screen
        JavascriptExecutor js = (JavascriptExecutor) browser;
        assertThat((Boolean) js.executeScript("return [...document.querySelectorAll('input, select')].every(e => e.labels.length > 0)")).isTrue();
        Files.createDirectories(Path.of("target"));
        Files.write(Path.of("target", "portal.png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        browser.manage().window().setSize(new Dimension(390, 1600));
        // the chart follows the new width on its own schedule (a resize observer): wait for the layout to settle
        await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                assertThat((Boolean) js.executeScript("return document.documentElement.scrollWidth <= window.innerWidth")).isTrue());
        Files.write(Path.of("target", "portal-phone.png"), ((TakesScreenshot) browser).getScreenshotAs(OutputType.BYTES));
        browser.manage().window().setSize(new Dimension(1280, 2000));

        // when the customer lowers its cap below what it used, on the page
        WebElement form = browser.findElement(By.cssSelector("form[data-cap='team']"));
        WebElement amount = form.findElement(By.name("amount"));
        amount.clear();
        amount.sendKeys("10");
        form.findElement(By.cssSelector("button[type=submit]")).click();
        await().atMost(Duration.ofSeconds(15)).until(() -> text(browser.findElement(By.cssSelector("form[data-cap='team']")), "[role=status]")
                .startsWith("Saved"));

        // then the control API has it, and the sidecar refuses the customer's next request
        JsonNode cap = query("/v1/customers/portal-co").get("caps").get(0);
        assertThat(cap.get("amount").asText()).isEqualTo("10.00");
        assertThat(cap.get("label").asText()).isEqualTo("Team budget");
        assertThat(cap.get("thresholds")).extracting(JsonNode::asText).containsExactly("0.5", "0.8", "1");
        String check = "{\"customer\": \"portal-co\", \"feature\": \"chat\", \"model\": \"gpt-4o-mini\", \"estimate\": {\"requests\": 1}}";
        await().atMost(Duration.ofSeconds(15)).untilAsserted(() -> {
            HttpResponse<String> answer = stack.control("POST", "/v1/check", check, Stack.ADMIN_KEY, sidecar.port());
            assertThat(answer.statusCode()).as(answer.body()).isEqualTo(402);
            assertThat(answer.body()).contains("spend_cap_reached");
        });
        // and the page lists that refusal among the recent ones
        await().atMost(Duration.ofSeconds(30)).pollInterval(Duration.ofSeconds(1)).until(() -> {
            open(token);
            return !browser.findElements(By.cssSelector("#decisions tr[data-code='spend_cap_reached']")).isEmpty();
        });
        assertThat(text(browser.findElement(By.cssSelector("[data-limit='cap:team']")), ".limit")).isEqualTo("$10.00");
        assertThat(text(browser.findElement(By.cssSelector("[data-limit='cap:team']")), ".state")).isEqualTo("Used up");
    }

    @Test
    void anOpenRunawayBreakerIsShownWithWhatTrippedItAndWhenItCloses() {
        // $60 a minute (120 requests at $0.50) in two minutes in a row: above the trip rate of 10 x the $5.00 floor
        Instant minute = Instant.now().truncatedTo(java.time.temporal.ChronoUnit.MINUTES);
        StringBuilder events = new StringBuilder("[");
        for (int i = 0; i < 2; i++) {
            events.append(i == 0 ? "" : ",").append("{\"id\": \"r").append(i).append("\", \"customer\": \"runaway-co\", \"feature\": \"chat\", \"time\": \"")
                    .append(minute.minus(Duration.ofMinutes(1 - i)).plusSeconds(5)).append("\", \"usage\": {\"requests\": 120}}");
        }
        assertThat(stack.postEvents(events.append("]").toString()).statusCode()).isEqualTo(202);
        await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> assertThat(query("/v1/customers/runaway-co/usage").get("runaway")).hasSize(1));
        String token = ok(stack.control("POST", "/v1/customers/runaway-co/portal-tokens", "{}", Stack.ADMIN_KEY, aggregator.port())).get("token").asText();

        open(token);
        WebElement banner = browser.findElement(By.id("runaway"));
        assertThat(banner.isDisplayed()).isTrue();
        assertThat(banner.getText()).startsWith("Requests are paused: Spend of runaway-co ran at $60.00 a minute")
                .contains("POST /v1/customers/runaway-co/runaway/reset").contains("It closes by itself in 1");
        // a customer without an open breaker sees no banner
        open(ok(stack.control("POST", "/v1/customers/portal-co/portal-tokens", "{}", Stack.ADMIN_KEY, aggregator.port())).get("token").asText());
        assertThat(browser.findElement(By.id("runaway")).isDisplayed()).isFalse();
    }

    @Test
    void aLinkWithAnExpiredOrForeignTokenShowsWhyAndNoNumbers() {
        String expired = PortalTokens.parse(TestSecrets.PORTAL_KEYS).mint("portal-co", Instant.now().minusSeconds(5));
        String foreign = PortalTokens.parse("test:" + java.util.Base64.getEncoder().encodeToString(new byte[32]))
                .mint("portal-co", Instant.now().plusSeconds(600));
        for (String token : List.of(expired, foreign, "not-a-token")) {
            open(token);
            assertThat(browser.findElement(By.tagName("body")).getAttribute("data-loaded")).isEqualTo("error");
            assertThat(browser.findElement(By.id("problem")).getText()).containsAnyOf("expired or is not valid", "needs a valid portal link");
            assertThat(browser.findElements(By.cssSelector("[data-limit]"))).isEmpty();
        }
    }

    @Test
    void onADeploymentWithoutSeriesThePageSaysSoAndShowsEverythingElse() {
        Stack plain = new Stack("portal-noseries", "/portal-policy.yaml");
        Map<String, String> config = plain.aggregatorConfig(0);
        config.put(AggregatorConfig.SERIES_ENABLED, "false");
        try (AggregatorService noSeries = new AggregatorService(AggregatorConfig.from(config), Clock.systemUTC())) {
            Stack.awaitReady(noSeries.port());
            ok(plain.control("PUT", "/v1/customers/plain-co/caps/team", "{\"amount\": \"20\"}", Stack.ADMIN_KEY));
            assertThat(stack.control("GET", "/v1/customers/plain-co/usage/series", null, Stack.ADMIN_KEY, noSeries.port()).statusCode()).isEqualTo(501);
            String token = ok(plain.control("POST", "/v1/customers/plain-co/portal-tokens", "{}", Stack.ADMIN_KEY, noSeries.port())).get("token").asText();
            await().atMost(Duration.ofSeconds(30)).untilAsserted(() -> {
                browser.get("about:blank");
                browser.get("http://127.0.0.1:" + noSeries.port() + "/portal#token=" + token);
                await().atMost(Duration.ofSeconds(15)).until(() -> browser.findElement(By.tagName("body")).getAttribute("data-loaded") != null);
                assertThat(browser.findElement(By.tagName("body")).getAttribute("data-loaded")).isEqualTo("true");
                assertThat(browser.findElements(By.cssSelector("[data-limit='cap:team']"))).hasSize(1);
            });
            assertThat(browser.findElement(By.id("series-note")).isDisplayed()).isTrue();
            assertThat(browser.findElement(By.id("chart-box")).isDisplayed()).isFalse();
            assertThat(browser.findElement(By.id("problem")).isDisplayed()).isFalse();
        } finally {
            plain.close();
        }
    }
}

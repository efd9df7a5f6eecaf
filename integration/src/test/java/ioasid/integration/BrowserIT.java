package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.openqa.selenium.By;
import org.openqa.selenium.JavascriptExecutor;
import org.openqa.selenium.OutputType;
import org.openqa.selenium.WebDriver;
import org.openqa.selenium.WebElement;
import org.openqa.selenium.chrome.ChromeDriver;
import org.openqa.selenium.chrome.ChromeDriverService;
import org.openqa.selenium.chrome.ChromeOptions;
import org.openqa.selenium.support.ui.WebDriverWait;

/**
 * The console's pages in a real browser, against the runtime jar started as users start it:
 * headless Chromium logs in with the password the first start wrote, the pages' tables match
 * the shell's answers in the same runtime, an allocation through the page's form shows in the
 * shell and in the picture of the ID space, the probe answers as iommu:probe. Screenshots go to
 * target/screenshots. Runs where Debian's chromium and chromium-driver are installed (.ci/run
 * installs them), and is skipped, saying so, where they are not.
 */
class BrowserIT {
    private static final File JAR = new File(System.getProperty("ioasid.runtime.jar"));
    private static final File CHROMIUM = new File(System.getProperty("ioasid.chromium",
            "/usr/bin/chromium"));
    private static final File DRIVER = new File(System.getProperty("ioasid.chromedriver",
            "/usr/bin/chromedriver"));

    @Test
    @Timeout(240)
    @DisplayName("both pages in headless Chromium: login, tables as the shell answers, an "
            + "allocation through the form, the picture changing, the probe; screenshots")
    void pagesInABrowser(@TempDir Path dir) throws Exception {
        assumeTrue(CHROMIUM.canExecute() && DRIVER.canExecute(), "no " + CHROMIUM + " or "
                + DRIVER + ": install Debian's chromium and chromium-driver to run this test");
        assertTrue(JAR.isFile(), "build the distribution first: " + JAR);
        int port = WebClient.freePort();
        RuntimeProcess runtime = RuntimeProcess.start(dir, "-Dorg.osgi.service.http.port=" + port);
        Process p = runtime.process;
        List<String> out = runtime.out;
        Path shots = Path.of(System.getProperty("ioasid.screenshots", "target/screenshots"));
        Files.createDirectories(shots);
        WebDriver browser = null;
        try (Writer shell = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)) {
            Shell sh = new Shell(shell, out);
            assertTrue(sh.run("iommu:await 3").contains("3 backends ready"));
            String created = sh.run("ioasid:mkset web1 5000");
            String set = created.replaceAll("(?s).*set (\\d+) created.*", "$1");
            sh.run("ioasid:alloc -n 40 " + set);
            String password = Files.readString(dir.resolve(".ioasid/http-password")).strip();
            String base = "http://127.0.0.1:" + port + "/system/console/";
            new WebClient("http://127.0.0.1:" + port, "admin", password)
                    .awaitUp("/system/console/ioasid", true);

            browser = chromium();
            WebDriverWait wait = new WebDriverWait(browser, Duration.ofSeconds(30));
            browser.get(base.replace("http://", "http://admin:" + password + "@") + "ioasid");
            browser.get(base + "ioasid"); // logged in: the browser keeps the credentials
            until(browser, wait, d -> !d.findElements(By.cssSelector("#ioasid-sets tbody tr"))
                    .isEmpty(), "the sets table");

            // the sets table against ioasid:sets
            Map<String, List<String>> shellSets = rows(sh.run("ioasid:sets"));
            Map<String, List<String>> pageSets = pageRows(browser, "ioasid-sets");
            assertEquals(shellSets.keySet(), pageSets.keySet(), "the same sets");
            for (String id : shellSets.keySet()) {
                List<String> s = shellSets.get(id);
                List<String> w = pageSets.get(id);
                assertEquals(s.get(5) + " of " + s.get(4), w.get(4), "set " + id + " size/quota");
                assertEquals(s.get(7), w.get(6), "set " + id + " state");
            }
            assertEquals("40 of 5000", pageSets.get(set).get(4));
            long before = live(browser);
            assertEquals(40, before, "the picture counts the live IDs");
            String pictureBefore = picture(browser);
            screenshot(browser, shots.resolve("ioasid-before.png"));

            // allocate through the page's form
            browser.findElement(By.cssSelector("#ioasid-alloc input[name=set]")).sendKeys(set);
            WebElement count = browser.findElement(
                    By.cssSelector("#ioasid-alloc input[name=count]"));
            count.clear();
            count.sendKeys("3000");
            browser.findElement(By.cssSelector("#ioasid-alloc button")).click();
            wait.until(d -> d.findElement(By.id("ioasid-message")).getText()
                    .startsWith("3000 IOASIDs allocated in set " + set));
            wait.until(d -> live(d) == 3040);
            assertNotEquals(pictureBefore, picture(browser), "the picture changed");
            wait.until(d -> pageRows(d, "ioasid-sets").get(set).get(4).equals("3040 of 5000"));
            assertEquals("3040", rows(sh.run("ioasid:sets")).get(set).get(5),
                    "the shell sees the page's allocation");
            // an error comes back as the shell's line
            browser.findElement(By.cssSelector("#ioasid-free input[name=ids]"))
                    .sendKeys("999999");
            browser.findElement(By.cssSelector("#ioasid-free button")).click();
            wait.until(d -> d.findElement(By.id("ioasid-message")).getText()
                    .equals("ENOENT: unknown IOASID 999999"));
            screenshot(browser, shots.resolve("ioasid.png"));

            // the IOMMU page against iommu:backends and iommu:groups
            browser.get(base + "iommu");
            wait.until(d -> !d.findElements(By.cssSelector("#iommu-groups tbody tr")).isEmpty());
            Map<String, List<String>> shellBackends = rows(sh.run("iommu:backends"));
            Map<String, List<String>> pageBackends = pageRows(browser, "iommu-backends");
            assertEquals(shellBackends.keySet(), pageBackends.keySet());
            for (String name : shellBackends.keySet()) {
                assertEquals(shellBackends.get(name).get(2), pageBackends.get(name).get(2),
                        name + " state");
            }
            assertEquals(rows(sh.run("iommu:groups")).keySet(),
                    pageRows(browser, "iommu-groups").keySet(), "the same groups");
            browser.findElement(By.cssSelector("#iommu-probe input[name=device]"))
                    .sendKeys("0000:00:01.0");
            browser.findElement(By.cssSelector("#iommu-probe button")).click();
            String probe = sh.run("iommu:probe 0000:00:01.0 0x1000").strip();
            wait.until(d -> d.findElement(By.id("ioasid-message")).getText().equals(probe));
            screenshot(browser, shots.resolve("iommu.png"));
            sh.send("stop 0");
        } finally {
            if (browser != null) {
                browser.quit();
            }
            if (!p.waitFor(60, TimeUnit.SECONDS)) {
                p.destroyForcibly();
            }
            runtime.awaitOutput(10_000);
        }
    }

    /** Waits for the condition; a timeout shows what the browser had. */
    private static void until(WebDriver browser, WebDriverWait wait,
            java.util.function.Function<WebDriver, Boolean> condition, String what) {
        try {
            wait.until(condition::apply);
        } catch (org.openqa.selenium.TimeoutException e) {
            String page = browser.getPageSource();
            throw new AssertionError("no " + what + " at " + browser.getCurrentUrl() + ": "
                    + page.substring(0, Math.min(page.length(), 4000)), e);
        }
    }

    private static WebDriver chromium() {
        ChromeOptions options = new ChromeOptions();
        options.setBinary(CHROMIUM);
        options.addArguments("--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                "--no-first-run", "--disable-background-networking",
                "--disable-component-update", "--disable-sync", "--window-size=1400,1600",
                "--user-data-dir=" + System.getProperty("java.io.tmpdir") + "/chromium-"
                        + System.nanoTime());
        ChromeDriverService service = new ChromeDriverService.Builder()
                .usingDriverExecutable(DRIVER).usingAnyFreePort().build();
        return new ChromeDriver(service, options);
    }

    private static long live(WebDriver d) {
        return Long.parseLong(d.findElement(By.id("ioasid-picture")).getAttribute("data-live"));
    }

    private static String picture(WebDriver d) {
        return (String) ((JavascriptExecutor) d).executeScript(
                "return document.getElementById('ioasid-picture').toDataURL();");
    }

    private static void screenshot(WebDriver d, Path to) throws IOException {
        File f = ((ChromeDriver) d).getScreenshotAs(OutputType.FILE);
        Files.copy(f.toPath(), to, StandardCopyOption.REPLACE_EXISTING);
    }

    /**
     * The table's rows by their first cell, each the cells' text, read in one script: the page
     * replaces its tables on every refresh, which would make elements found one by one stale.
     */
    @SuppressWarnings("unchecked")
    private static Map<String, List<String>> pageRows(WebDriver d, String table) {
        List<List<String>> read = (List<List<String>>) ((JavascriptExecutor) d).executeScript(
                "return Array.from(document.querySelectorAll('#' + arguments[0] + ' tbody tr'))"
                        + ".map(r => Array.from(r.cells).map(c => c.textContent.trim()));",
                table);
        Map<String, List<String>> rows = new LinkedHashMap<>();
        for (List<String> cells : read) {
            rows.put(cells.get(0), cells);
        }
        return rows;
    }

    /** A shell table's rows (after its header) by their first column. */
    private static Map<String, List<String>> rows(String table) {
        Map<String, List<String>> rows = new LinkedHashMap<>();
        String[] lines = table.strip().split("\n");
        for (int i = 1; i < lines.length; i++) {
            List<String> cells = List.of(lines[i].strip().split("\\s{2,}"));
            rows.put(cells.get(0), cells);
        }
        return rows;
    }

    /** The runtime's console on stdin: a command's answer is what it prints before a marker. */
    private static final class Shell {
        private final Writer in;
        private final List<String> out;
        private int marks;

        Shell(Writer in, List<String> out) {
            this.in = in;
            this.out = out;
        }

        void send(String command) throws IOException {
            in.write(command + "\n");
            in.flush();
        }

        String run(String command) throws Exception {
            String mark = "mark-" + (++marks) + "-end";
            int from;
            synchronized (out) {
                from = out.size();
            }
            send(command);
            send("echo " + mark);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (System.nanoTime() < deadline) {
                synchronized (out) {
                    int at = out.indexOf(mark);
                    if (at >= from) {
                        return String.join("\n", out.subList(from, at));
                    }
                }
                Thread.sleep(50);
            }
            throw new AssertionError("no answer to " + command + ": " + out);
        }
    }
}

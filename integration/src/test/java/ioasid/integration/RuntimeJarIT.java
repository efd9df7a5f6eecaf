package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.File;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.net.InetAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/** The executable runtime as users start it: java -jar ioasid.jar in a directory of their own. */
class RuntimeJarIT {
    private static final File JAR = new File(System.getProperty("ioasid.runtime.jar"));

    /** Every runtime of this class listens on a free port, never on the default one. */
    private static final String HTTP_PORT = "-Dorg.osgi.service.http.port=" + WebClient.freePort();

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    @Test
    @Timeout(120)
    @DisplayName("a scripted Gogo session from a fresh directory: backends up, commands answer, "
            + "errors are one line, the JVM exits")
    void scriptedSession(@TempDir Path dir) throws Exception {
        assertTrue(JAR.isFile(), "build the distribution first: " + JAR);
        String script = "--nointeractive -c 'iommu:await 3; iommu:backends; ioasid:mkset vm1 8; "
                + "ioasid:alloc 2; ioasid:free 99; iommu:probe 0000:00:01.0 0x1000; stop 0'";
        long start = System.nanoTime();
        Process p = new ProcessBuilder(java(), HTTP_PORT, "-Dgosh.args=" + script, "-jar",
                JAR.getAbsolutePath()).directory(dir.toFile()).redirectErrorStream(true).start();
        List<String> lines = new ArrayList<>();
        long firstCommand = -1;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            for (String line; (line = r.readLine()) != null;) {
                if (firstCommand < 0 && line.contains("backends ready")) {
                    firstCommand = System.nanoTime() - start;
                }
                lines.add(line);
            }
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the runtime stops after 'stop 0'");
        String out = String.join("\n", lines);
        assertTrue(out.contains("first start, deploy/ filled with"), out);
        assertTrue(out.contains("3 backends ready"), out);
        assertTrue(out.matches("(?s).*smmu0 +smmuv3.*"), out);
        assertTrue(out.contains("IOASID 1 allocated in set 2"), out);
        assertTrue(out.contains("ENOENT: unknown IOASID 99"), out);
        assertTrue(out.contains("FAULT F_TRANSLATION"), out);
        assertTrue(lines.stream().noneMatch(l -> l.startsWith("\tat ")), "no stack trace: " + out);
        assertTrue(Files.isRegularFile(dir.resolve("deploy/backend.vtd.jar")));
        System.out.printf("runtime: first command answered %d ms after java started%n",
                TimeUnit.NANOSECONDS.toMillis(firstCommand));
    }

    @Test
    @Timeout(120)
    @DisplayName("a backend jar dropped into deploy/ comes up; deleted, it goes; the operator's "
            + "configuration file is left as written")
    void dropInDeploy(@TempDir Path dir) throws Exception {
        Path deploy = dir.resolve("deploy");
        Files.createDirectories(deploy); // an existing folder: the operator's, nothing copied in
        Path config = deploy.resolve("ioasid.backend.virtio-viommu0.config");
        String written = "ioasid.iommu.name=\"viommu0\"\ndevices=[\"ep1;sid=0x1\"]\n";
        Files.writeString(config, written);
        RuntimeProcess runtime = RuntimeProcess.start(dir, HTTP_PORT);
        Process p = runtime.process;
        List<String> out = runtime.out;
        try (Writer shell = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)) {
            send(shell, "iommu:backends");
            awaitLine(out, "no IOMMU backend");
            Path jar = Path.of(System.getProperty("ioasid.bundles"), "backend.virtio.jar");
            Path tmp = deploy.resolve(".backend.virtio.jar.tmp");
            Files.copy(jar, tmp);
            Files.move(tmp, deploy.resolve("backend.virtio.jar"), StandardCopyOption.ATOMIC_MOVE);
            send(shell, "iommu:await 1");
            awaitLine(out, "1 backends ready");
            awaitAnswer(shell, out, "iommu:probe ep1 0x1000", "ep1 pasid 0 READ 0x1000: FAULT",
                    deploy);
            Files.delete(deploy.resolve("backend.virtio.jar"));
            awaitLine(out, "IOMMU backend viommu0 (virtio"); // FileInstall noticed: it left
            send(shell, "iommu:probe ep1 0x1000");
            awaitLine(out, "ep1 pasid 0 READ 0x1000: FAULT NO_IOMMU");
            send(shell, "stop 0");
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        runtime.awaitOutput(Long.MAX_VALUE);
        assertEquals(0, out.stream().filter(l -> l.startsWith("\tat ")).count(), out.toString());
        // the operator's file is read, never rewritten (a rewrite raced FileInstall's own scan)
        assertEquals(written, Files.readString(config));
    }

    @Test
    @Timeout(120)
    @DisplayName("iommu:await waits for readiness; hc:exec answers from the runtime's console, "
            + "quietly; a backend unplugged in deploy/ is CRITICAL for readiness")
    void healthChecks(@TempDir Path dir) throws Exception {
        Run up = run(dir, "iommu:await; hc:exec ioasid");
        assertEquals(0, up.code, up.toString());
        assertTrue(up.out.startsWith("platform ready"), "iommu:await waits for readiness: " + up);
        assertTrue(up.out.contains("Overall Health Result: OK"), up.toString());
        for (String check : List.of("IOMMU instances", "IOASID allocators", "IOASID listeners",
                "IOASID capacity")) {
            assertTrue(up.out.contains(check), up.toString());
        }
        assertEquals("", up.err, "the health checks print nothing of their own");

        Files.delete(dir.resolve("deploy/backend.vtd.jar"));
        Run down = run(dir, "iommu:await 2; hc:exec readiness");
        assertTrue(down.out.contains("Overall Health Result: CRITICAL"), down.toString());
        assertTrue(down.out.replaceAll("\\s+", " ").contains("dmar0 "
                + "(deploy/ioasid.backend.vtd-dmar0.config) is configured but not running"),
                down.toString());
    }

    @Test
    @Timeout(120)
    @DisplayName("the first start writes the console's address and credentials, the password "
            + "readable by its owner only; the console asks for them, on 127.0.0.1 only; a "
            + "second start keeps them")
    void webConsole(@TempDir Path dir) throws Exception {
        int port = WebClient.freePort();
        String first = runConsole(dir, port);
        Path password = dir.resolve(".ioasid/http-password").toAbsolutePath();
        assertTrue(first.contains("ioasid: web console user admin, password in " + password
                + " (readable by its owner only)"), first);
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(password)));
        String secret = Files.readString(password).strip();
        String address = Files.readString(dir.resolve("deploy/org.apache.felix.http.config"));
        assertTrue(address.contains("org.apache.felix.http.host=\"127.0.0.1\""), address);
        assertTrue(address.contains("org.osgi.service.http.port=I\"" + port + "\""), address);
        String again = runConsole(dir, port);
        assertFalse(again.contains("password in"), again);
        assertEquals(secret, Files.readString(password).strip(), "a later start keeps it");
    }

    /** Starts the runtime, checks the console over HTTP while it runs; returns what it printed. */
    private static String runConsole(Path dir, int port) throws Exception {
        RuntimeProcess runtime = RuntimeProcess.start(dir, "-Dorg.osgi.service.http.port=" + port);
        Process p = runtime.process;
        List<String> out = runtime.out;
        try (Writer shell = new OutputStreamWriter(p.getOutputStream(), StandardCharsets.UTF_8)) {
            send(shell, "iommu:await 3");
            awaitLine(out, "3 backends ready");
            String secret = Files.readString(dir.resolve(".ioasid/http-password")).strip();
            WebClient web = new WebClient("http://127.0.0.1:" + port, "admin", secret);
            WebClient.Response anonymous = web.awaitUp("/system/console/bundles", false);
            assertEquals(401, anonymous.status, "login required");
            assertTrue(anonymous.header("WWW-Authenticate").startsWith("Basic"));
            assertEquals(401, new WebClient("http://127.0.0.1:" + port, "admin", "admin")
                    .get("/system/console/bundles", true).status, "no default password");
            assertEquals(200, web.get("/system/console/bundles", true).status);
            for (InetAddress other : WebClient.nonLoopbackAddresses()) {
                assertFalse(WebClient.accepts(other, port), "listens on " + other);
            }
            send(shell, "stop 0");
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS));
        runtime.awaitOutput(Long.MAX_VALUE);
        assertEquals(0, out.stream().filter(l -> l.startsWith("\tat ")).count(), out.toString());
        return String.join("\n", out);
    }

    private static final class Run {
        final int code;
        final String out;
        final String err;

        Run(int code, String out, String err) {
            this.code = code;
            this.out = out;
            this.err = err;
        }

        @Override
        public String toString() {
            return "exit " + code + "\nout: " + out + "\nerr: " + err;
        }
    }

    /** Runs the runtime on a script (after a first start in dir, which fills deploy/). */
    private static Run run(Path dir, String script) throws Exception {
        if (!Files.isDirectory(dir.resolve("deploy"))) {
            Process first = new ProcessBuilder(java(), HTTP_PORT, "-jar", JAR.getAbsolutePath(),
                    "-c", "iommu:await 3").directory(dir.toFile()).start();
            first.getInputStream().readAllBytes();
            assertTrue(first.waitFor(60, TimeUnit.SECONDS));
        }
        Path err = dir.resolve("err.txt");
        Process p = new ProcessBuilder(java(), HTTP_PORT, "-jar", JAR.getAbsolutePath(), "-c",
                script).directory(dir.toFile()).redirectError(err.toFile()).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the runtime stops after the script");
        return new Run(p.exitValue(), out, Files.readString(err));
    }

    private static void send(Writer shell, String command) throws IOException {
        shell.write(command + "\n");
        shell.flush();
    }

    /** Sends the command and waits for the answer; a timeout shows what the runtime then knew. */
    private static void awaitAnswer(Writer shell, List<String> out, String command, String text,
            Path deploy) throws IOException, InterruptedException {
        send(shell, command);
        if (seen(out, text)) {
            return;
        }
        send(shell, "iommu:backends");
        send(shell, "iommu:devices");
        Thread.sleep(1000);
        StringBuilder files = new StringBuilder();
        try (var listing = Files.list(deploy)) {
            for (Path f : (Iterable<Path>) listing::iterator) {
                files.append('\n').append(f.getFileName());
                if (f.toString().endsWith(".config")) {
                    files.append(":\n").append(Files.readString(f));
                }
            }
        }
        throw new AssertionError("no answer with '" + text + "' to " + command + " in " + out
                + "\ndeploy/:" + files);
    }

    /** Waits for a line containing the text; the shell may need a moment (FileInstall polls). */
    private static void awaitLine(List<String> out, String text) throws InterruptedException {
        if (!seen(out, text)) {
            throw new AssertionError("no line with '" + text + "' in " + out);
        }
    }

    /** Whether a line containing the text arrives within 30 seconds. */
    private static boolean seen(List<String> out, String text) throws InterruptedException {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        while (System.nanoTime() < deadline) {
            synchronized (out) {
                if (out.stream().anyMatch(l -> l.contains(text))) {
                    return true;
                }
            }
            Thread.sleep(50);
        }
        return false;
    }
}

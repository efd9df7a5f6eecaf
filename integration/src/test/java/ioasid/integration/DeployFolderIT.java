package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.ByteArrayInputStream;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.OutputStream;
import java.io.OutputStreamWriter;
import java.io.Writer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import java.util.jar.JarEntry;
import java.util.jar.JarInputStream;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * deploy/ as an operator uses it with the runtime jar: a backend jar replaced while the runtime
 * runs, a jar older than the runtime's own found on start, a jar deleted to unplug a backend, and
 * runtime:restore bringing the runtime's own contents back.
 */
class DeployFolderIT {
    private static final Path JAR = Path.of(System.getProperty("ioasid.runtime.jar"));
    private static final String VTD = "backend.vtd.jar";
    private static final String VTD_CONFIG = "ioasid.backend.vtd-dmar0.config";
    private static final Pattern LEFT =
            Pattern.compile("IOMMU backend dmar0 \\(vtd, service (\\d+)\\) left");
    private static final Pattern DMAR0 = Pattern.compile("^dmar0\\s+vtd\\s+ACTIVE\\s+(\\d+)\\s");
    private static final Pattern VTD_BUNDLE =
            Pattern.compile("^\\s*(\\d+)\\|(\\w+)\\s*\\|\\s*\\d+\\|backend\\.vtd \\(([^)]+)\\)");

    private static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                JAR.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    /** A runtime run to its end: exit code, stdout and stderr. */
    private static final class Run {
        final int exit;
        final String out;
        final String err;

        Run(Path dir, String... args) throws Exception {
            Process p = new ProcessBuilder(command(args)).directory(dir.toFile()).start();
            p.getOutputStream().close();
            ByteArrayOutputStream errBytes = new ByteArrayOutputStream();
            Thread drain = new Thread(() -> {
                try {
                    p.getErrorStream().transferTo(errBytes);
                } catch (IOException e) {
                    // the process went away
                }
            });
            drain.start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the runtime exits: " + out);
            drain.join();
            exit = p.exitValue();
            err = errBytes.toString(StandardCharsets.UTF_8);
        }

        /** The runtime's own lines about deploy/, "ioasid: ...". */
        List<String> notes() {
            return out.lines().filter(l -> l.startsWith("ioasid: ")).toList();
        }

        @Override
        public String toString() {
            return "exit " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    private static void assertQuiet(String all) {
        assertFalse(all.contains("\tat "), "no stack trace: " + all);
        assertFalse(all.contains("Exception"), "no exception: " + all);
        assertFalse(all.contains("WARNING"), "no warning: " + all);
        assertFalse(all.contains("ERROR"), "no error: " + all);
    }

    /** The jar with another Bundle-Version: still a valid bundle, and another build. */
    static byte[] withVersion(byte[] jar, String version) throws IOException {
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarInputStream in = new JarInputStream(new ByteArrayInputStream(jar))) {
            Manifest m = new Manifest(in.getManifest());
            m.getMainAttributes().putValue("Bundle-Version", version);
            try (JarOutputStream out = new JarOutputStream(bytes, m)) {
                for (JarEntry e; (e = in.getNextJarEntry()) != null;) {
                    out.putNextEntry(new JarEntry(e.getName()));
                    in.transferTo(out);
                    out.closeEntry();
                }
            }
        }
        return bytes.toByteArray();
    }

    @Test
    @Timeout(180)
    @DisplayName("a backend jar replaced in deploy/ while the runtime runs is one departure and "
            + "one return of the backend, in place and quietly, each time, also when the copy "
            + "pauses half way")
    void replacedJar(@TempDir Path dir) throws Exception {
        Session s = new Session(dir);
        try {
            s.send("iommu:await 3");
            s.await(l -> l.contains("3 backends ready"), 1);
            String[] bundle = s.vtdBundle();
            List<String> services = new ArrayList<>(List.of(s.dmar0Service()));
            Path jar = dir.resolve("deploy").resolve(VTD);
            byte[] own = Files.readAllBytes(jar);
            int swaps = 3;
            for (int i = 1; i <= swaps; i++) {
                // written over in place, as cp does: the watcher can see it half written; the
                // last one pauses half way, longer than the watcher's poll
                writeInPlace(jar, withVersion(own, "1.0." + i), i == swaps ? 700 : 0);
                s.await(l -> LEFT.matcher(l).find(), i);
                s.send("iommu:await 3");
                s.await(l -> l.contains("3 backends ready"), i + 1);
                // a second departure, when there was one, came within milliseconds
                Thread.sleep(1500);
                services.add(s.dmar0Service());
                String[] now = s.vtdBundle();
                assertEquals(bundle[0], now[0], "updated in place, same bundle ID: " + s);
                assertEquals("Active", now[1], s.toString());
                assertEquals("1.0." + i, now[2], s.toString());
            }
            List<String> left = s.matching(LEFT);
            assertEquals(swaps, left.size(), "one departure per replacement: " + s);
            for (int i = 0; i < swaps; i++) {
                assertEquals(services.get(i), left.get(i), "the backend that left was the one "
                        + "registered before the replacement: " + s);
                assertNotEquals(services.get(i), services.get(i + 1),
                        "it returned as a new service: " + s);
            }
            s.send("shutdown");
        } finally {
            s.close();
        }
        assertEquals(0, s.exit(), s.toString());
        assertQuiet(s.toString());
    }

    /** Truncates the file and writes it, pausing half way when asked. */
    private static void writeInPlace(Path file, byte[] bytes, long pauseMs) throws Exception {
        try (OutputStream out = Files.newOutputStream(file)) {
            int half = pauseMs > 0 ? bytes.length / 2 : bytes.length;
            out.write(bytes, 0, half);
            out.flush();
            Thread.sleep(pauseMs);
            out.write(bytes, half, bytes.length - half);
        }
    }

    @Test
    @Timeout(180)
    @DisplayName("a jar in deploy/ that is not a bundle is named in one line, without a stack "
            + "trace, and the backends come up")
    void brokenJarOneLine(@TempDir Path dir) throws Exception {
        Run first = new Run(dir, "-c", "iommu:await 3");
        assertEquals(0, first.exit, first.toString());
        Files.writeString(dir.resolve("deploy").resolve("notes.jar"), "not a jar");
        Run r = new Run(dir, "-c", "iommu:await 3");
        assertEquals(0, r.exit, r.toString());
        assertEquals(List.of("WARNING: deploy/notes.jar is not a whole bundle jar (zip END header "
                + "not found): not installed"), r.err.lines().toList(),
                r.toString());
        assertFalse(r.out.contains("\tat "), r.toString());
    }

    @Test
    @Timeout(180)
    @DisplayName("on start, a backend jar older than the runtime's own is replaced with one line; "
            + "the next start has nothing to say")
    void olderJarReplacedOnStart(@TempDir Path dir) throws Exception {
        Run first = new Run(dir, "-c", "iommu:await 3");
        assertEquals(0, first.exit, first.toString());
        Path jar = dir.resolve("deploy").resolve(VTD);
        byte[] own = Files.readAllBytes(jar);
        Files.write(jar, withVersion(own, "0.9.0"));

        Run second = new Run(dir, "-c", "iommu:await 3; lb");
        assertEquals(0, second.exit, second.toString());
        List<String> notes = second.notes();
        assertEquals(1, notes.size(), second.toString());
        assertTrue(notes.get(0).startsWith("ioasid: deploy/backend.vtd.jar held backend.vtd 0.9.0"
                + " (build "), second.toString());
        assertTrue(notes.get(0).contains("older than the runtime's own 1.0.0.SNAPSHOT (build "),
                second.toString());
        assertTrue(notes.get(0).endsWith("): replaced"), second.toString());
        assertTrue(second.out.contains("|backend.vtd (1.0.0.SNAPSHOT)|"), second.toString());
        assertArrayEquals(own, Files.readAllBytes(jar), "the runtime's own jar, byte for byte");
        assertQuiet(second.out + second.err);

        Run third = new Run(dir, "-c", "iommu:await 3");
        assertEquals(0, third.exit, third.toString());
        assertEquals(List.of(), third.notes(), third.toString());
    }

    @Test
    @Timeout(180)
    @DisplayName("a deleted backend jar stays deleted on start; runtime:restore writes it and its "
            + "default configuration back, says so, and the backend comes up")
    void missingJarRestoredOnRequest(@TempDir Path dir) throws Exception {
        Run first = new Run(dir, "-c", "iommu:await 3");
        assertEquals(0, first.exit, first.toString());
        Path deploy = dir.resolve("deploy");
        Files.delete(deploy.resolve(VTD));
        Files.delete(deploy.resolve(VTD_CONFIG));

        Run unplugged = new Run(dir, "-c", "iommu:await 2; iommu:backends");
        assertEquals(0, unplugged.exit, unplugged.toString());
        assertEquals(List.of(), unplugged.notes(), unplugged.toString());
        assertFalse(unplugged.out.contains("dmar0"), unplugged.toString());
        assertFalse(Files.exists(deploy.resolve(VTD)), "not re-added on start");
        assertFalse(Files.exists(deploy.resolve(VTD_CONFIG)));

        Run restored = new Run(dir, "-c", "help restore; runtime:restore; iommu:await 3; "
                + "iommu:backends; runtime:restore");
        assertEquals(0, restored.exit, restored.toString());
        assertTrue(restored.out.contains("put the runtime's own backend jars back"),
                restored.toString());
        List<String> lines = restored.out.lines().toList();
        assertTrue(lines.contains("deploy/ioasid.backend.vtd-dmar0.config: written (it was "
                + "missing)"), restored.toString());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("deploy/backend.vtd.jar: written "
                + "(it was missing), backend.vtd 1.0.0.SNAPSHOT (build ")), restored.toString());
        assertTrue(lines.contains("2 files written; 4 left as they were (the runtime's own jars, "
                + "your configurations)"), restored.toString());
        assertTrue(lines.stream().anyMatch(l -> DMAR0.matcher(l).find()), restored.toString());
        assertTrue(lines.contains("nothing to restore: deploy/ holds the runtime's own backend "
                + "jars and every default configuration"), restored.toString());
        assertTrue(Files.isRegularFile(deploy.resolve(VTD)));
        assertQuiet(restored.out + restored.err);
    }

    /** A runtime driven through its standard input, its output collected line by line. */
    private static final class Session {
        private final Process process;
        private final Writer in;
        private final List<String> out = Collections.synchronizedList(new ArrayList<>());
        private final Thread reader;

        Session(Path dir) throws IOException {
            process = new ProcessBuilder(command()).directory(dir.toFile())
                    .redirectErrorStream(true).start();
            in = new OutputStreamWriter(process.getOutputStream(), StandardCharsets.UTF_8);
            reader = new Thread(() -> {
                try (BufferedReader r = new BufferedReader(new InputStreamReader(
                        process.getInputStream(), StandardCharsets.UTF_8))) {
                    for (String line; (line = r.readLine()) != null;) {
                        out.add(line);
                    }
                } catch (IOException e) {
                    out.add("reader: " + e);
                }
            });
            reader.start();
        }

        void send(String command) throws IOException {
            in.write(command + "\n");
            in.flush();
        }

        /** Waits until at least count lines match. */
        void await(Predicate<String> line, int count) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                synchronized (out) {
                    if (out.stream().filter(line).count() >= count) {
                        return;
                    }
                }
                Thread.sleep(50);
            }
            throw new AssertionError("waited for " + count + " such lines in " + this);
        }

        /** Sends the command and returns the first line matching after it. */
        Matcher ask(String command, Pattern answer) throws Exception {
            int from = out.size();
            send(command);
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (System.nanoTime() < deadline) {
                synchronized (out) {
                    for (String l : out.subList(from, out.size())) {
                        Matcher m = answer.matcher(l);
                        if (m.find()) {
                            return m;
                        }
                    }
                }
                Thread.sleep(50);
            }
            throw new AssertionError("no answer to " + command + " in " + this);
        }

        String dmar0Service() throws Exception {
            return ask("iommu:backends", DMAR0).group(1);
        }

        /** The backend.vtd line of lb: ID, state, version. */
        String[] vtdBundle() throws Exception {
            Matcher m = ask("lb", VTD_BUNDLE);
            return new String[] {m.group(1), m.group(2), m.group(3)};
        }

        /** The first group of every line matching. */
        List<String> matching(Pattern p) {
            List<String> found = new ArrayList<>();
            synchronized (out) {
                for (String l : out) {
                    Matcher m = p.matcher(l);
                    if (m.find()) {
                        found.add(m.group(1));
                    }
                }
            }
            return found;
        }

        void close() throws Exception {
            in.close();
            if (!process.waitFor(60, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
            reader.join();
        }

        int exit() {
            return process.exitValue();
        }

        @Override
        public String toString() {
            synchronized (out) {
                return String.join("\n", out);
            }
        }
    }
}

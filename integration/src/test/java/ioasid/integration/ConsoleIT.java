package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * The runtime's console and lifecycle as an operator meets them: scripts and their exit codes,
 * help, one runtime per directory, the console on a terminal (through script(1)'s
 * pseudo-terminal), and a quiet orderly shutdown.
 */
class ConsoleIT {
    private static final Path JAR = Path.of(System.getProperty("ioasid.runtime.jar"));

    /** What a finished runtime printed and returned. */
    static final class Run {
        final int exit;
        final String out;
        final String err;

        Run(int exit, String out, String err) {
            this.exit = exit;
            this.out = out;
            this.err = err;
        }

        @Override
        public String toString() {
            return "exit " + exit + "\nstdout:\n" + out + "\nstderr:\n" + err;
        }
    }

    private static List<String> command(String... args) {
        List<String> cmd = new ArrayList<>(List.of(
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "-jar",
                JAR.toString()));
        cmd.addAll(List.of(args));
        return cmd;
    }

    private static Run run(Path dir, String... args) throws Exception {
        Process p = new ProcessBuilder(command(args)).directory(dir.toFile()).start();
        p.getOutputStream().close();
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        Thread drain = drain(p.getErrorStream(), err);
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "the runtime exits: " + out);
        drain.join();
        return new Run(p.exitValue(), out, err.toString(StandardCharsets.UTF_8));
    }

    private static Thread drain(InputStream in, OutputStream to) {
        Thread t = new Thread(() -> {
            try {
                in.transferTo(to);
            } catch (IOException e) {
                // the process went away
            }
        });
        t.start();
        return t;
    }

    private static void assertQuiet(Run r) {
        String all = r.out + r.err;
        assertFalse(all.contains("\tat "), "no stack trace: " + r);
        assertFalse(all.contains("Exception"), "no exception: " + r);
        assertFalse(all.contains("left; its groups are blocked"),
                "an orderly shutdown does not report each backend leaving: " + r);
        assertFalse(all.contains("WARNING"), "an orderly shutdown warns of nothing: " + r);
    }

    @Test
    @Timeout(120)
    @DisplayName("the iommufd commands of one script share one context: an IOAS made by one "
            + "command is mapped, attached and destroyed by the next ones (rules 120-130)")
    void iommufdSession(@TempDir Path dir) throws Exception {
        Run r = run(dir, "-c", "iommu:await 3; a = (iommu:ioas); "
                + "iommu:map $a 0x1000 0x10000 0x4000; d = (iommu:bind 0000:00:01.0); "
                + "iommu:attach $d $a; iommu:probe 0000:00:01.0 0x1000; "
                + "iommu:unmap $a 0x2000 0x1000; iommu:destroy $a; iommu:detach $d; "
                + "iommu:destroy $a; iommu:objects");
        assertEquals(1, r.exit, "two commands are refused: " + r);
        assertTrue(r.out.contains("mapped 0x4000 bytes at IOVA 0x1000"), r.toString());
        assertTrue(r.out.contains("TRANSLATED to 0x10000"), r.toString());
        assertEquals(List.of("ENOENT: [0x2000, 0x2fff] splits area [0x1000, 0x4fff]",
                "EBUSY: IOAS 1 is in use by 1 objects"), r.err.lines().toList());
        assertTrue(r.out.contains("object 1 destroyed"), r.toString());
        assertTrue(r.out.lines().anyMatch(l -> l.matches("2 +DEVICE .*0000:00:01.0.*")),
                r.toString());
        assertQuiet(r);
    }

    @Test
    @Timeout(120)
    @DisplayName("a script's exit code says whether its commands succeeded; results print, "
            + "a failure is one line and the next command runs; the runtime then stops quietly")
    void scriptExitCodes(@TempDir Path dir) throws Exception {
        Run ok = run(dir, "-c", "iommu:await 3; s = (ioasid:mkset vm1 10); "
                + "id = (ioasid:alloc -n 2 $s); ioasid:free $id; ioasid:capacity");
        assertEquals(0, ok.exit, ok.toString());
        assertTrue(ok.out.contains("2 IOASIDs freed"), ok.toString());
        assertTrue(ok.out.contains("capacity 1048576"), ok.toString());
        assertQuiet(ok);

        Run failed = run(dir, "-c", "ioasid:free 42; ioasid:alloc; ioasid:capacity");
        assertEquals(1, failed.exit, failed.toString());
        assertEquals(List.of("ENOENT: unknown IOASID 42",
                "EINVAL: alloc: wrong number of arguments; help alloc shows its forms"),
                failed.err.lines().toList());
        assertTrue(failed.out.contains("capacity 1048576"), "the next command ran: " + failed);

        Files.writeString(dir.resolve("setup.gosh"), "ioasid:mkset vm1 4\nshutdown 7\n"
                + "ioasid:capacity\n");
        Run script = run(dir, "setup.gosh");
        assertEquals(7, script.exit, script.toString());
        assertTrue(script.out.contains("set 2 created"), script.toString());
        assertFalse(script.out.contains("capacity"), "nothing runs after shutdown: " + script);
        assertQuiet(script);
    }

    @Test
    @Timeout(120)
    @DisplayName("bad launch arguments and unreadable scripts exit 2 with one line; --help and "
            + "help in a script answer")
    void usage(@TempDir Path dir) throws Exception {
        Run bogus = run(dir, "--bogus");
        assertEquals(2, bogus.exit, bogus.toString());
        assertTrue(bogus.err.startsWith("ioasid: unknown option --bogus\nusage:"),
                bogus.toString());
        Run missing = run(dir, "no-such.gosh");
        assertEquals(2, missing.exit, missing.toString());
        assertTrue(missing.err.startsWith("ioasid: cannot read script no-such.gosh"),
                missing.toString());
        assertFalse(java.nio.file.Files.exists(dir.resolve("deploy")),
                "refused arguments write nothing: " + bogus + missing);
        Path fresh = java.nio.file.Files.createDirectories(dir.resolve("fresh"));
        Run help = run(fresh, "--help");
        assertEquals(0, help.exit, help.toString());
        assertTrue(help.out.contains("exit codes:"), help.toString());
        assertFalse(java.nio.file.Files.exists(fresh.resolve("deploy")),
                "asking for the usage writes nothing: " + help);
        assertFalse(help.toString().contains("password"), help.toString());
        Run commandHelp = run(dir, "-c", "help alloc");
        assertEquals(0, commandHelp.exit, commandHelp.toString());
        assertTrue(commandHelp.out.contains("SetNumber"), "typed parameters: " + commandHelp);
        assertTrue(commandHelp.out.contains("-n, --count"), commandHelp.toString());
    }

    @Test
    @Timeout(120)
    @DisplayName("a second runtime in the same directory refuses in one line with exit code 3; "
            + "the framework's storage is in .ioasid/, not the temp directory")
    void oneRuntimePerDirectory(@TempDir Path dir) throws Exception {
        Process first = new ProcessBuilder(command()).directory(dir.toFile()).start();
        ByteArrayOutputStream firstOut = new ByteArrayOutputStream();
        Thread drain = drain(first.getInputStream(), firstOut);
        drain(first.getErrorStream(), firstOut);
        try (OutputStream in = first.getOutputStream()) {
            in.write("iommu:await 3\n".getBytes(StandardCharsets.UTF_8));
            in.flush();
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (!firstOut.toString(StandardCharsets.UTF_8).contains("3 backends ready")) {
                assertTrue(System.nanoTime() < deadline, "the first runtime is up: " + firstOut);
                Thread.sleep(50);
            }
            assertTrue(Files.isDirectory(dir.resolve(".ioasid/framework")),
                    "storage in the working directory");

            Run second = run(dir, "-c", "ioasid:capacity");
            assertEquals(3, second.exit, second.toString());
            assertEquals(1, second.err.lines().count(), second.toString());
            assertTrue(second.err.startsWith("ioasid: another runtime (process " + first.pid()
                    + ") is running in "), second.toString());

            in.write("shutdown\n".getBytes(StandardCharsets.UTF_8));
        }
        assertTrue(first.waitFor(60, TimeUnit.SECONDS));
        drain.join();
        assertEquals(0, first.exitValue(), firstOut.toString(StandardCharsets.UTF_8));
        Run after = run(dir, "-c", "ioasid:capacity");
        assertEquals(0, after.exit, "the directory is free again: " + after);
    }

    @Test
    @Timeout(120)
    @DisplayName("on a terminal: Tab completes, the up arrow recalls, Ctrl-C stops the running "
            + "command and not the runtime, exit ends it with its code")
    void terminalSession(@TempDir Path dir) throws Exception {
        // script(1) gives the runtime a pseudo-terminal and forwards our bytes to it; the
        // terminal needs a size, which a pipe cannot give it
        String cmd = "stty cols 160 rows 40; exec " + String.join(" ",
                command().stream().map(a -> "'" + a + "'").toList());
        ProcessBuilder pb = new ProcessBuilder("script", "-qfec", cmd, "/dev/null")
                .directory(dir.toFile()).redirectErrorStream(true);
        pb.environment().put("TERM", "xterm");
        Process p = pb.start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread drain = drain(p.getInputStream(), out);
        try (OutputStream in = p.getOutputStream()) {
            Terminal t = new Terminal(in, out);
            t.await("ioasid> ");
            t.type("iommu:await 3\r");
            t.await("3 backends ready");
            t.type("ioasid:mks\t vm1 4\r"); // Tab completes mks to mkset
            t.await("set 2 created (NONE vm1, quota 4)");
            t.type("ioasid:capacity\r");
            t.await("capacity 1048576");
            // up arrow, as xterm sends it in the keypad mode the console switches on
            t.type("\u001bOA\r");
            t.awaitCount("capacity 1048576", 2);
            long start = System.nanoTime();
            t.type("iommu:await 9 60000\r");
            Thread.sleep(1500);
            t.type("\u0003"); // Ctrl-C
            t.await("EINTR: interrupted");
            assertTrue(System.nanoTime() - start < TimeUnit.SECONDS.toNanos(30),
                    "interrupted, not timed out");
            t.type("ioasid:sets\r");
            t.await("vm1"); // the runtime lives on
            t.type("exit 4\r");
        }
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), out.toString(StandardCharsets.UTF_8));
        drain.join();
        assertEquals(4, p.exitValue(), out.toString(StandardCharsets.UTF_8));
        assertTrue(Files.isRegularFile(dir.resolve(".ioasid/history")), "history is kept");
        assertTrue(Files.readString(dir.resolve(".ioasid/history")).contains("ioasid:mkset"));
    }

    /** Types into a terminal and waits for what it shows. */
    private static final class Terminal {
        private final OutputStream in;
        private final ByteArrayOutputStream screen;

        Terminal(OutputStream in, ByteArrayOutputStream screen) {
            this.in = in;
            this.screen = screen;
        }

        void type(String keys) throws IOException {
            in.write(keys.getBytes(StandardCharsets.UTF_8));
            in.flush();
        }

        void await(String text) throws InterruptedException {
            awaitCount(text, 1);
        }

        void awaitCount(String text, int times) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
            while (count(screen.toString(StandardCharsets.UTF_8), text) < times) {
                if (System.nanoTime() > deadline) {
                    throw new AssertionError("the terminal never showed '" + text + "' " + times
                            + " times:\n" + screen.toString(StandardCharsets.UTF_8));
                }
                Thread.sleep(50);
            }
        }

        private static int count(String s, String text) {
            int n = 0;
            for (int i = s.indexOf(text); i >= 0; i = s.indexOf(text, i + 1)) {
                n++;
            }
            return n;
        }
    }
}

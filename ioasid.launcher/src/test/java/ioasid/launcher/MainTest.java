package ioasid.launcher;

import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The working directory's lock: one runtime per directory, and a clear refusal for another. */
class MainTest {
    @Test
    void aSecondProcessIsRefusedWithTheHoldersProcessId(@TempDir Path dir) throws Exception {
        Path state = dir.resolve(".ioasid");
        assertNull(Main.claim(state), "the first claim succeeds");
        // not read here: closing any descriptor of the file would drop this JVM's POSIX lock

        // file locks are per process: ask from another JVM, as a second runtime would
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "-cp", System.getProperty("java.class.path"),
                Probe.class.getName(), state.toString()).redirectErrorStream(true).start();
        String line;
        try (BufferedReader r = new BufferedReader(new InputStreamReader(p.getInputStream(),
                StandardCharsets.UTF_8))) {
            line = r.readLine();
        }
        assertTrue(p.waitFor(30, TimeUnit.SECONDS));
        assertTrue(line.startsWith("another runtime (process " + ProcessHandle.current().pid()
                + ") is running in " + dir), line);
    }

    @Test
    void anUnusableDirectoryIsNamed(@TempDir Path dir) throws Exception {
        Path file = dir.resolve("plain-file");
        Files.writeString(file, "x");
        String refusal = Main.claim(file.resolve(".ioasid"));
        assertTrue(refusal.startsWith("cannot use " + file), refusal);
    }

    /** Run in a second JVM: tries the claim and prints the refusal. */
    public static final class Probe {
        public static void main(String[] args) {
            System.out.println(Main.claim(Path.of(args[0])));
        }
    }
}

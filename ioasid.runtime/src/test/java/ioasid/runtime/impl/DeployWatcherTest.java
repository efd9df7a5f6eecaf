package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.apache.felix.fileinstall.ArtifactInstaller;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DeployWatcherTest {
    private static final long JAR_QUIET = 50;
    private static final long CONFIG_QUIET = 250;
    private static final long SETTLE = 600;
    private static final long RETRY = 200;

    @TempDir
    Path dir;
    private Path deploy;
    private final Recorder jars = new Recorder(".jar");
    private final Recorder configs = new Recorder(".config");
    private DeployWatcher watcher;

    /** One call: what, when, and the bytes the file held at that moment. */
    record Call(String what, String name, long nanos, byte[] bytes) {
    }

    /** An installer of one kind of file that keeps every call. */
    static final class Recorder implements ArtifactInstaller {
        private final String suffix;
        final List<Call> calls = new ArrayList<>();

        Recorder(String suffix) {
            this.suffix = suffix;
        }

        @Override
        public boolean canHandle(File artifact) {
            return artifact.getName().endsWith(suffix);
        }

        @Override
        public void install(File artifact) throws IOException {
            record("install", artifact, Files.readAllBytes(artifact.toPath()));
        }

        @Override
        public void update(File artifact) throws IOException {
            record("update", artifact, Files.readAllBytes(artifact.toPath()));
        }

        @Override
        public void uninstall(File artifact) {
            record("uninstall", artifact, null);
        }

        private synchronized void record(String what, File artifact, byte[] bytes) {
            calls.add(new Call(what, artifact.getName(), System.nanoTime(), bytes));
            notifyAll();
        }

        synchronized List<Call> await(int count, long ms) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
            while (calls.size() < count) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    break;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            return List.copyOf(calls);
        }

        synchronized List<String> names() {
            return calls.stream().map(c -> c.what + " " + c.name).toList();
        }
    }

    @BeforeEach
    void setUp() throws IOException {
        deploy = Files.createDirectories(dir.resolve("deploy"));
    }

    @AfterEach
    void tearDown() {
        if (watcher != null) {
            watcher.close();
        }
    }

    private void startWatcher() throws IOException {
        watcher = new DeployWatcher(deploy, List.of(configs, jars), JAR_QUIET, CONFIG_QUIET,
                SETTLE, RETRY).start();
    }

    /** Written outside and moved in, as a tool that copies safely does. */
    private void moveIn(String name, byte[] bytes) throws IOException {
        Path tmp = dir.resolve(name + ".part");
        Files.write(tmp, bytes);
        Files.move(tmp, deploy.resolve(name), StandardCopyOption.ATOMIC_MOVE);
    }

    @Test
    @DisplayName("a jar written in place in pieces, with pauses longer than the quiet time, is "
            + "handed over once, after its last piece, whole")
    void slowCopyHandedOverWhole() throws Exception {
        startWatcher();
        byte[] jar = BundleInstallerTest.bigBundle();
        int pieces = 8;
        int size = jar.length / pieces + 1;
        long lastWrite;
        try (OutputStream out = Files.newOutputStream(deploy.resolve("slow.jar"))) {
            for (int off = 0; ; off += size) {
                out.write(jar, off, Math.min(size, jar.length - off));
                out.flush();
                if (off + size >= jar.length) {
                    break;
                }
                Thread.sleep(3 * JAR_QUIET);
            }
            lastWrite = System.nanoTime();
        }
        List<Call> calls = jars.await(1, 5000);
        Thread.sleep(SETTLE + 200); // anything more would come by now
        calls = List.copyOf(jars.calls);
        assertEquals(List.of("install slow.jar"), jars.names(), "one call, no partial jar");
        assertArrayEquals(jar, calls.get(0).bytes(), "the whole jar was there when handed over");
        assertTrue(calls.get(0).nanos() > lastWrite, "after the last piece");
    }

    @Test
    @DisplayName("a jar moved in is handed over within a few quiet times; deleted, it is handed "
            + "over as gone as quickly")
    void addedAndDeleted() throws Exception {
        startWatcher();
        long t0 = System.nanoTime();
        moveIn("a.jar", BundleInstallerTest.bigBundle());
        jars.await(1, 5000);
        long added = jars.calls.get(0).nanos() - t0;
        long t1 = System.nanoTime();
        Files.delete(deploy.resolve("a.jar"));
        jars.await(2, 5000);
        long gone = jars.calls.get(1).nanos() - t1;
        assertEquals(List.of("install a.jar", "uninstall a.jar"), jars.names());
        // far below FileInstall's two polls of 500 ms, with room for a loaded machine
        assertTrue(added < TimeUnit.MILLISECONDS.toNanos(400), "added in " + added / 1e6 + " ms");
        assertTrue(gone < TimeUnit.MILLISECONDS.toNanos(400), "gone in " + gone / 1e6 + " ms");
    }

    @Test
    @DisplayName("a jar deleted and written again within the quiet time is one change: one "
            + "install, no uninstall")
    void burstIsOneChange() throws Exception {
        byte[] jar = BundleInstallerTest.bigBundle();
        moveIn("b.jar", jar);
        startWatcher();
        Files.delete(deploy.resolve("b.jar"));
        Files.write(deploy.resolve("b.jar"), jar);
        jars.await(1, 5000);
        Thread.sleep(4 * JAR_QUIET);
        assertEquals(List.of("install b.jar"), jars.names());
    }

    @Test
    @DisplayName("a jar that never opens whole is handed over once, after the settle time, so "
            + "that its installer names it")
    void brokenJarHandedOverAfterSettling() throws Exception {
        startWatcher();
        long t0 = System.nanoTime();
        Files.writeString(deploy.resolve("notes.jar"), "not a jar");
        jars.await(1, 5000);
        Thread.sleep(SETTLE);
        assertEquals(List.of("install notes.jar"), jars.names());
        assertTrue(jars.calls.get(0).nanos() - t0 >= TimeUnit.MILLISECONDS.toNanos(SETTLE),
                "not before the settle time");
    }

    @Test
    @DisplayName("a configuration waits for its longer quiet time; other files, sub-folders and "
            + "files already there at the start are left to FileInstall")
    void configurationsAndOthers() throws Exception {
        moveIn("old.jar", BundleInstallerTest.bigBundle());
        startWatcher();
        long t0 = System.nanoTime();
        Files.writeString(deploy.resolve("x.config"), "a=\"1\"\n");
        Files.writeString(deploy.resolve("notes.txt"), "x");
        Path sub = Files.createDirectories(deploy.resolve("sub.jar"));
        Files.write(sub.resolve("inner.jar"), BundleInstallerTest.bigBundle());
        configs.await(1, 5000);
        Thread.sleep(CONFIG_QUIET);
        assertEquals(List.of("install x.config"), configs.names());
        assertTrue(configs.calls.get(0).nanos() - t0 >= TimeUnit.MILLISECONDS.toNanos(
                CONFIG_QUIET), "not before the quiet time");
        assertEquals(List.of(), jars.names());
    }

    @Test
    @DisplayName("a folder that appears after the start, or is removed and made again, is "
            + "watched once it is there, and what it holds then is handed over")
    void folderComesBack() throws Exception {
        Files.delete(deploy);
        startWatcher();
        Files.createDirectories(deploy);
        moveIn("c.jar", BundleInstallerTest.bigBundle());
        jars.await(1, 5000);
        assertEquals(List.of("install c.jar"), jars.names());

        Files.delete(deploy.resolve("c.jar"));
        jars.await(2, 5000);
        Files.delete(deploy);
        Thread.sleep(RETRY);
        Path tmp = Files.createDirectories(dir.resolve("next"));
        Files.write(tmp.resolve("d.jar"), BundleInstallerTest.bigBundle());
        Files.move(tmp, deploy, StandardCopyOption.ATOMIC_MOVE);
        jars.await(3, 5000);
        assertEquals(List.of("install c.jar", "uninstall c.jar", "install d.jar"),
                jars.names());
    }
}

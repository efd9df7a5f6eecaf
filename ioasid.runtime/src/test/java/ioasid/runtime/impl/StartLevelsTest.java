package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;

import org.apache.felix.framework.FrameworkFactory;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.BundleEvent;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.SynchronousBundleListener;
import org.osgi.framework.launch.Framework;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;

/**
 * The runtime's start-level requests in a real Felix framework, with a listener that asks for a
 * start level on every install and update as the launcher's does, and a launch whose climb keeps
 * the start-level thread busy until the test lets it go.
 */
class StartLevelsTest {
    /** deploy/'s level, the beginning level, the late level (also the launcher's default). */
    private static final int DEPLOY = 2;
    private static final int BEGINNING = 2;
    private static final int LATE = 3;

    @TempDir
    Path dir;
    private Framework framework;
    private BundleContext context;
    private FrameworkStartLevel levels;
    private final List<FrameworkEvent> errors = new ArrayList<>();
    private final BlockingQueue<Integer> changes = new LinkedBlockingQueue<>();
    private final CountDownLatch release = new CountDownLatch(1);

    @BeforeEach
    void setUp() throws Exception {
        framework = new FrameworkFactory().newFramework(Map.of(
                Constants.FRAMEWORK_STORAGE, dir.resolve("framework").toString(),
                Constants.FRAMEWORK_STORAGE_CLEAN, Constants.FRAMEWORK_STORAGE_CLEAN_ONFIRSTINIT,
                "felix.log.level", "0"));
        framework.start();
        context = framework.getBundleContext();
        levels = framework.adapt(FrameworkStartLevel.class);
        levels.setInitialBundleStartLevel(DEPLOY);
        context.addBundleListener((SynchronousBundleListener) e -> {
            if ((e.getType() == BundleEvent.INSTALLED || e.getType() == BundleEvent.UPDATED)
                    && e.getBundle().getBundleId() != 0) {
                e.getBundle().adapt(BundleStartLevel.class).setStartLevel(LATE);
            }
        });
    }

    @AfterEach
    void tearDown() throws Exception {
        release.countDown();
        framework.stop();
        framework.waitForStop(10_000);
    }

    /** The launch: a climb to the beginning level that holds the thread until released. */
    private void launch() {
        levels.setStartLevel(BEGINNING, e -> {
            try {
                release.await();
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
        });
    }

    /** Registered after the runtime's listeners: what it sees, they have seen. */
    private void watch() {
        context.addFrameworkListener(e -> {
            if (e.getType() == FrameworkEvent.ERROR) {
                synchronized (errors) {
                    errors.add(e);
                }
            } else if (e.getType() == FrameworkEvent.STARTLEVEL_CHANGED) {
                changes.add(levels.getStartLevel());
            }
        });
    }

    /**
     * Waits until the requests so far are done and their events delivered: the events come in
     * order, the last one of a request of its own, then nothing for a while.
     */
    private void drain() throws InterruptedException {
        CountDownLatch done = new CountDownLatch(1);
        int now = levels.getStartLevel();
        levels.setStartLevel(now, e -> done.countDown());
        assertTrue(done.await(10, TimeUnit.SECONDS));
        Integer last = changes.poll(10, TimeUnit.SECONDS);
        for (Integer next; (next = changes.poll(300, TimeUnit.MILLISECONDS)) != null; ) {
            last = next;
        }
        assertEquals(now, last);
    }

    private String errors() {
        synchronized (errors) {
            List<String> all = new ArrayList<>();
            errors.forEach(e -> all.add(e.getBundle().getLocation() + ": " + e.getThrowable()));
            return all.toString();
        }
    }

    private void removedWhileBusy(int late) throws Exception {
        StartLevels runtime = new StartLevels(context, late, 10_000);
        context.addFrameworkListener(runtime);
        watch();
        launch();
        assertEquals(BEGINNING, changes.poll(10, TimeUnit.SECONDS), "the launch's climb");
        runtime.raise();
        Path deploy = Files.createDirectories(dir.resolve("deploy"));
        BundleInstaller installer = new BundleInstaller(context, deploy, "deploy", DEPLOY,
                runtime);
        context.addFrameworkListener(installer);
        Path jar = deploy.resolve("a.jar");
        Files.write(jar, DeployFolderTest.bundle("a", "1.0.0", "one"));
        installer.install(jar.toFile());
        Bundle a = context.getBundles()[1];
        assertEquals(Bundle.ACTIVE, a.getState());

        Files.delete(jar);
        AtomicReference<Throwable> failed = new AtomicReference<>();
        Thread remover = new Thread(() -> {
            try {
                installer.uninstall(jar.toFile());
            } catch (Throwable t) {
                failed.set(t);
            }
        });
        remover.start();
        Thread.sleep(200);
        release.countDown();
        remover.join(10_000);
        assertFalse(remover.isAlive());
        assertNull(failed.get());
        drain();
        assertEquals(Bundle.UNINSTALLED, a.getState());
        assertEquals("[]", errors(), "the launcher's request for the bundle came after it was "
                + "uninstalled");
    }

    @Test
    @Timeout(60)
    @DisplayName("a jar deleted while the start-level thread is busy loses its bundle after "
            + "the launcher's request for it: no framework error; the late level is reached")
    void removedDuringTheLaunch() throws Exception {
        removedWhileBusy(LATE);
        assertEquals(LATE, levels.getStartLevel());
    }

    @Test
    @Timeout(60)
    @DisplayName("without a late level, the wait learns the level from the end of the launch "
            + "and leaves it there")
    void removedDuringTheLaunchWithoutLateLevel() throws Exception {
        removedWhileBusy(0);
        assertEquals(BEGINNING, levels.getStartLevel());
    }

    @Test
    @Timeout(60)
    @DisplayName("a jar found during the launch starts at its end, after the launcher's request "
            + "for it; then the late level is asked for and what it holds starts, after it")
    void lateLevelAfterTheLaunchsJars() throws Exception {
        Bundle web = context.installBundle("web",
                new java.io.ByteArrayInputStream(DeployFolderTest.bundle("web", "1", "w")));
        web.adapt(BundleStartLevel.class).setStartLevel(LATE);
        web.start();
        List<String> started = new java.util.concurrent.CopyOnWriteArrayList<>();
        context.addBundleListener(e -> {
            if (e.getType() == BundleEvent.STARTED) {
                started.add(e.getBundle().getSymbolicName());
            }
        });
        StartLevels runtime = new StartLevels(context, LATE, 10_000);
        context.addFrameworkListener(runtime);
        watch();
        Path deploy = Files.createDirectories(dir.resolve("deploy"));
        BundleInstaller installer = new BundleInstaller(context, deploy, "deploy", DEPLOY,
                runtime);
        context.addFrameworkListener(installer);
        Path jar = deploy.resolve("a.jar");
        Files.write(jar, DeployFolderTest.bundle("a", "1.0.0", "one"));
        installer.install(jar.toFile()); // FileInstall's first scan, below deploy/'s level
        Bundle a = context.getBundle(jar.toFile().toURI().normalize().toString());
        assertEquals(Bundle.INSTALLED, a.getState());

        launch();
        release.countDown();
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (web.getState() != Bundle.ACTIVE && System.nanoTime() < deadline) {
            Thread.sleep(10);
        }
        drain();
        assertEquals(LATE, levels.getStartLevel());
        assertEquals(Bundle.ACTIVE, a.getState());
        assertEquals(List.of("a", "web"), started);
        assertEquals(DEPLOY, a.adapt(BundleStartLevel.class).getStartLevel());
        assertEquals("[]", errors());
    }

    @Test
    @Timeout(60)
    @DisplayName("a jar added, then replaced, while the framework is below the late level starts "
            + "once, is one update and runs again, at deploy/'s level, though the launcher gave "
            + "it the late one each time")
    void replacedBelowTheLateLevel() throws Exception {
        StartLevels runtime = new StartLevels(context, LATE, 10_000);
        context.addFrameworkListener(runtime);
        watch();
        release.countDown();
        launch();
        assertEquals(BEGINNING, changes.poll(10, TimeUnit.SECONDS), "the launch's climb");
        Path deploy = Files.createDirectories(dir.resolve("deploy"));
        BundleInstaller installer = new BundleInstaller(context, deploy, "deploy", DEPLOY,
                runtime);
        Path jar = deploy.resolve("a.jar");
        List<String> events = new java.util.concurrent.CopyOnWriteArrayList<>();
        context.addBundleListener(e -> {
            if (e.getType() == BundleEvent.STARTED || e.getType() == BundleEvent.STOPPED) {
                events.add(e.getType() == BundleEvent.STARTED ? "started" : "stopped");
            }
        });
        Files.write(jar, DeployFolderTest.bundle("a", "1.0.0", "one"));
        // the start-level thread busy: the launcher's request for the new bundle waits there
        CountDownLatch busy = new CountDownLatch(1);
        levels.setStartLevel(BEGINNING, e -> {
            try {
                busy.await();
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
        });
        Thread installing = new Thread(() -> installer.install(jar.toFile()));
        installing.start();
        Thread.sleep(200);
        busy.countDown();
        installing.join(10_000);
        Bundle a = context.getBundle(jar.toFile().toURI().normalize().toString());
        drain();
        assertEquals(Bundle.ACTIVE, a.getState());
        assertEquals(List.of("started"), events, "the launcher's request did not stop it");

        Files.write(jar, DeployFolderTest.bundle("a", "1.0.1", "two"));
        installer.update(jar.toFile());
        drain();
        assertEquals(Bundle.ACTIVE, a.getState());
        assertEquals("1.0.1", a.getVersion().toString());
        assertEquals(DEPLOY, a.adapt(BundleStartLevel.class).getStartLevel());
        assertEquals(List.of("started", "stopped", "started"), events, "one update");
        assertEquals("[]", errors());
    }

    @Test
    @Timeout(60)
    @DisplayName("the late level waits for the platform's readiness, or for the time given")
    void lateLevelWaitsForReadiness() throws Exception {
        StartLevels runtime = new StartLevels(context, LATE, 10_000);
        context.addFrameworkListener(runtime);
        watch();
        release.countDown();
        launch();
        assertEquals(BEGINNING, changes.poll(10, TimeUnit.SECONDS), "the launch's climb");
        runtime.raiseWhenReady(60_000);
        Thread.sleep(300);
        assertEquals(BEGINNING, levels.getStartLevel(), "not ready yet");
        context.registerService(org.osgi.service.condition.Condition.class,
                org.osgi.service.condition.Condition.INSTANCE,
                new java.util.Hashtable<>(Map.of("osgi.condition.id", "felix.hc.readiness")));
        assertEquals(LATE, changes.poll(10, TimeUnit.SECONDS), "ready");
        runtime.close();

        levels.setStartLevel(BEGINNING);
        assertEquals(BEGINNING, changes.poll(10, TimeUnit.SECONDS));
        StartLevels later = new StartLevels(context, LATE, 10_000);
        later.raiseWhenReady(200); // the condition is there: at once
        assertEquals(LATE, changes.poll(10, TimeUnit.SECONDS));
    }

    @Test
    @Timeout(60)
    @DisplayName("without readiness, the late level comes after the time given")
    void lateLevelWithoutReadiness() throws Exception {
        StartLevels runtime = new StartLevels(context, LATE, 10_000);
        context.addFrameworkListener(runtime);
        watch();
        release.countDown();
        launch();
        assertEquals(BEGINNING, changes.poll(10, TimeUnit.SECONDS), "the launch's climb");
        long t0 = System.nanoTime();
        runtime.raiseWhenReady(500);
        assertEquals(LATE, changes.poll(10, TimeUnit.SECONDS));
        assertTrue(System.nanoTime() - t0 >= TimeUnit.MILLISECONDS.toNanos(450));
        runtime.close();
    }

    @Test
    @Timeout(60)
    @DisplayName("the wait changes no level: not the late one asked for, not one set by "
            + "someone else since; on the start-level thread it does not wait")
    void waitChangesNoLevel() throws Exception {
        StartLevels runtime = new StartLevels(context, LATE, 10_000);
        context.addFrameworkListener(runtime);
        watch();
        release.countDown();
        launch();
        runtime.raise();
        assertTrue(runtime.awaitQueued());
        assertEquals(LATE, levels.getStartLevel());

        drain();
        levels.setStartLevel(1); // the console's frameworklevel 1
        assertEquals(1, changes.poll(10, TimeUnit.SECONDS));
        assertTrue(runtime.awaitQueued());
        drain();
        assertEquals(1, levels.getStartLevel());

        AtomicReference<Boolean> onThread = new AtomicReference<>();
        CountDownLatch done = new CountDownLatch(1);
        levels.setStartLevel(1, e -> {
            try {
                onThread.set(runtime.awaitQueued());
            } catch (InterruptedException x) {
                Thread.currentThread().interrupt();
            }
            done.countDown();
        });
        assertTrue(done.await(5, TimeUnit.SECONDS), "no wait for itself");
        assertEquals(Boolean.FALSE, onThread.get());
        assertEquals("[]", errors());
    }
}

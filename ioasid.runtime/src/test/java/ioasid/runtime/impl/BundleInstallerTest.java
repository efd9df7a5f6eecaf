package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.lang.reflect.InvocationHandler;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.startlevel.BundleStartLevel;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.framework.wiring.BundleRevision;
import org.osgi.framework.wiring.FrameworkWiring;

/**
 * The installer as both the watcher and FileInstall call it: each reports every change, in
 * either order, the latter up to two polls late. A framework of proxies counts what is done to
 * its bundles.
 */
class BundleInstallerTest {
    @TempDir
    Path dir;
    private Path deploy;
    private final Framework framework = new Framework();
    private BundleInstaller installer;
    private final List<String> warnings = new ArrayList<>();
    private final Logger log = Logger.getLogger("ioasid.runtime");
    private Level level;
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            if (r.getLevel().intValue() >= Level.WARNING.intValue()) {
                synchronized (warnings) {
                    warnings.add(r.getMessage());
                }
            }
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };

    /** One installed bundle and what was done to it. */
    static final class FakeBundle {
        final long id;
        final String location;
        byte[] bytes;
        int updates;
        int state = Bundle.INSTALLED;
        int level;
        Bundle proxy;

        FakeBundle(long id, String location, byte[] bytes) {
            this.id = id;
            this.location = location;
            this.bytes = bytes;
        }
    }

    /** The framework's few calls the installer makes, on a system bundle at level 200. */
    static final class Framework {
        final Map<Long, FakeBundle> bundles = new LinkedHashMap<>();
        final List<String> uninstalled = new ArrayList<>();
        private long next = 1;
        final Bundle system = proxy(Bundle.class, (p, m, a) -> switch (m.getName()) {
            case "getBundleId" -> 0L;
            case "getLocation" -> Constants.SYSTEM_BUNDLE_LOCATION;
            case "adapt" -> a[0] == FrameworkStartLevel.class
                    ? proxy(FrameworkStartLevel.class, (q, n, b) -> 200)
                    : proxy(FrameworkWiring.class, (q, n, b) -> List.of());
            default -> object(p, m.getName(), a);
        });
        final BundleContext context = proxy(BundleContext.class, (p, m, a) -> switch (m
                .getName()) {
            case "getBundles" -> {
                List<Bundle> all = new ArrayList<>(List.of(system));
                bundles.values().forEach(b -> all.add(b.proxy));
                yield all.toArray(Bundle[]::new);
            }
            case "installBundle" -> install((String) a[0], ((InputStream) a[1]).readAllBytes());
            case "getBundle" -> a[0] instanceof String ? system
                    : bundles.containsKey((Long) a[0]) ? bundles.get((Long) a[0]).proxy : null;
            default -> object(p, m.getName(), a);
        });

        private Bundle install(String location, byte[] bytes) {
            FakeBundle b = new FakeBundle(next++, location, bytes);
            b.proxy = proxy(Bundle.class, (p, m, a) -> switch (m.getName()) {
                case "getBundleId" -> b.id;
                case "getLocation" -> b.location;
                case "getSymbolicName" -> "slow.copy";
                case "getState" -> b.state;
                case "start" -> {
                    b.state = Bundle.ACTIVE;
                    yield null;
                }
                case "update" -> {
                    b.bytes = ((InputStream) a[0]).readAllBytes();
                    b.updates++;
                    yield null;
                }
                case "uninstall" -> {
                    bundles.remove(b.id);
                    uninstalled.add(b.location);
                    b.state = Bundle.UNINSTALLED;
                    yield null;
                }
                case "adapt" -> a[0] == BundleRevision.class
                        ? proxy(BundleRevision.class, (q, n, c) -> 0)
                        : proxy(BundleStartLevel.class, (q, n, c) -> switch (n.getName()) {
                            case "setStartLevel" -> {
                                b.level = (Integer) c[0];
                                yield null;
                            }
                            case "getStartLevel" -> b.level;
                            default -> true;
                        });
                default -> object(p, m.getName(), a);
            });
            bundles.put(b.id, b);
            return b.proxy;
        }

        FakeBundle only() {
            assertEquals(1, bundles.size(), "one bundle: " + bundles.keySet());
            return bundles.values().iterator().next();
        }
    }

    /** A bundle jar of about 200 KB, most of it incompressible, so it takes many pieces. */
    static byte[] bigBundle() throws IOException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", "slow.copy");
        a.putValue("Bundle-Version", "1.0.0");
        byte[] noise = new byte[200_000];
        new Random(16).nextBytes(noise);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream out = new JarOutputStream(bytes, m)) {
            out.putNextEntry(new JarEntry("noise.bin"));
            out.write(noise);
            out.closeEntry();
        }
        return bytes.toByteArray();
    }

    @SuppressWarnings("unchecked")
    static <T> T proxy(Class<T> type, InvocationHandler h) {
        return (T) Proxy.newProxyInstance(BundleInstallerTest.class.getClassLoader(),
                new Class<?>[] {type}, h);
    }

    private static Object object(Object self, String method, Object[] args) {
        return switch (method) {
            case "equals" -> self == args[0];
            case "hashCode" -> System.identityHashCode(self);
            case "toString" -> "proxy";
            default -> throw new UnsupportedOperationException(method);
        };
    }

    @BeforeEach
    void setUp() throws IOException {
        deploy = Files.createDirectories(dir.resolve("deploy"));
        installer = new BundleInstaller(framework.context, deploy, "deploy", 151,
                new StartLevels(framework.context, 0, 0));
        // the build turns JUL off; this test reads the installer's lines
        level = log.getLevel();
        log.setLevel(Level.WARNING);
        log.addHandler(capture);
    }

    @AfterEach
    void tearDown() {
        log.removeHandler(capture);
        log.setLevel(level);
    }

    private File file(String name) {
        return deploy.resolve(name).toFile();
    }

    @Test
    @DisplayName("a jar replaced in place and reported by both callers is one update; a touch "
            + "is a new version, one more")
    void oneUpdatePerReplacement() throws Exception {
        byte[] v1 = DeployFolderTest.bundle("slow.copy", "1.0.0", "one");
        byte[] v2 = DeployFolderTest.bundle("slow.copy", "1.0.1", "two");
        Path jar = deploy.resolve("a.jar");
        Files.write(jar, v1);
        installer.install(jar.toFile());
        installer.install(jar.toFile());
        FakeBundle b = framework.only();
        assertEquals(151, b.level);
        assertEquals(Bundle.ACTIVE, b.state);

        Files.write(jar, v2);
        installer.install(jar.toFile()); // the watcher
        installer.update(jar.toFile()); // FileInstall, later
        installer.install(jar.toFile());
        assertEquals(1, framework.only().updates);
        assertArrayEquals(v2, b.bytes);

        Files.setLastModifiedTime(jar, FileTime.fromMillis(
                Files.getLastModifiedTime(jar).toMillis() + 2000));
        installer.update(jar.toFile());
        installer.update(jar.toFile());
        assertEquals(2, framework.only().updates);
        assertEquals(List.of(), warnings);
    }

    @Test
    @DisplayName("a late report that a jar is gone does not take the bundle of the jar copied "
            + "back since; a late report of it being there does not bring back a deleted one")
    void lateReportsFollowTheFolder() throws Exception {
        byte[] v1 = DeployFolderTest.bundle("slow.copy", "1.0.0", "one");
        Path jar = deploy.resolve("b.jar");
        Files.write(jar, v1);
        installer.install(jar.toFile());
        Files.delete(jar);
        installer.uninstall(jar.toFile());
        assertEquals(0, framework.bundles.size());
        Files.write(jar, v1);
        installer.install(jar.toFile());
        installer.uninstall(jar.toFile()); // FileInstall's view of the deletion, late
        assertEquals(1, framework.bundles.size(), "the jar is there: so is its bundle");
        assertEquals(1, framework.uninstalled.size());

        Files.delete(jar);
        installer.uninstall(jar.toFile());
        installer.update(jar.toFile()); // a report of the copy, late
        assertEquals(0, framework.bundles.size());
        assertEquals(2, framework.uninstalled.size());
        assertEquals(List.of(), warnings);
    }

    @Test
    @DisplayName("a jar written in pieces is not installed while it is written, nor named "
            + "broken; once whole it is installed whole, and a broken jar gets one line however "
            + "often it is reported")
    void partialAndBrokenJars() throws Exception {
        byte[] whole = bigBundle();
        Path jar = deploy.resolve("c.jar");
        Thread writer;
        try (OutputStream out = Files.newOutputStream(jar)) {
            out.write(whole, 0, whole.length / 4);
            out.flush();
            // the rest in pieces while the installer looks at it
            writer = new Thread(() -> {
                try {
                    int piece = whole.length / 8;
                    for (int off = whole.length / 4; off < whole.length; off += piece) {
                        Thread.sleep(150);
                        out.write(whole, off, Math.min(piece, whole.length - off));
                        out.flush();
                    }
                } catch (IOException | InterruptedException e) {
                    throw new AssertionError(e);
                }
            });
            writer.start();
            installer.install(jar.toFile());
            assertEquals(0, framework.bundles.size(), "not while it is written");
            writer.join();
        }
        installer.install(jar.toFile());
        assertArrayEquals(whole, framework.only().bytes);

        Path broken = deploy.resolve("notes.jar");
        Files.writeString(broken, "not a jar");
        installer.install(broken.toFile());
        installer.install(broken.toFile());
        installer.update(broken.toFile());
        assertEquals(List.of("deploy/notes.jar is not a whole bundle jar (zip END header not "
                + "found): not installed"), warnings);
        assertTrue(framework.bundles.size() == 1);
    }
}

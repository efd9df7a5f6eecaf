package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.io.File;
import java.lang.reflect.Proxy;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.ArrayList;
import java.util.Dictionary;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Handler;
import java.util.logging.Level;
import java.util.logging.LogRecord;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * deploy/'s configuration files as both the watcher and FileInstall report them: each change
 * twice, in either order. A Config Admin of proxies counts the updates and deletions.
 */
class ConfigFilesTest {
    @TempDir
    Path dir;
    private final Map<String, Dictionary<String, Object>> configs = new LinkedHashMap<>();
    private final List<String> done = new ArrayList<>();
    private final List<String> warnings = new ArrayList<>();
    private final Logger log = Logger.getLogger("ioasid.runtime");
    private Level level;
    private final Handler capture = new Handler() {
        @Override
        public void publish(LogRecord r) {
            warnings.add(r.getMessage());
        }

        @Override
        public void flush() {
        }

        @Override
        public void close() {
        }
    };
    private ConfigFiles files;
    /** The filters Config Admin was asked to list configurations with. */
    private final List<String> listings = new ArrayList<>();
    private ConfigurationAdmin ca;

    @BeforeEach
    void setUp() {
        // the build turns JUL off; this test reads the lines
        level = log.getLevel();
        log.setLevel(Level.WARNING);
        log.addHandler(capture);
        ca = admin();
        files = new ConfigFiles(() -> ca);
    }

    @AfterEach
    void tearDown() {
        log.removeHandler(capture);
        log.setLevel(level);
    }

    /** Keyed by the file each configuration came from, as ConfigFiles looks them up. */
    private ConfigurationAdmin admin() {
        return (ConfigurationAdmin) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {ConfigurationAdmin.class}, (p, m, a) -> switch (m.getName()) {
                    case "listConfigurations" -> {
                        String filter = (String) a[0];
                        listings.add(filter);
                        boolean any = filter.equals("(" + ConfigFiles.FILENAME + "=*)");
                        List<Configuration> found = new ArrayList<>();
                        for (String key : configs.keySet()) {
                            if (any || filter.contains(
                                    key.replace("(", "\\(").replace(")", "\\)"))) {
                                found.add(configuration(key));
                            }
                        }
                        yield found.isEmpty() ? null : found.toArray(Configuration[]::new);
                    }
                    case "getFactoryConfiguration", "getConfiguration" -> configuration(null);
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    private Configuration configuration(String known) {
        String[] key = {known};
        return (Configuration) Proxy.newProxyInstance(getClass().getClassLoader(),
                new Class<?>[] {Configuration.class}, (p, m, a) -> switch (m.getName()) {
                    case "getProperties" -> key[0] == null ? null : configs.get(key[0]);
                    case "update" -> {
                        @SuppressWarnings("unchecked")
                        Dictionary<String, Object> props = (Dictionary<String, Object>) a[0];
                        key[0] = (String) props.get(ConfigFiles.FILENAME);
                        configs.put(key[0], props);
                        done.add("update " + props.get("a"));
                        yield null;
                    }
                    case "delete" -> {
                        configs.remove(key[0]);
                        done.add("delete");
                        yield null;
                    }
                    default -> throw new UnsupportedOperationException(m.getName());
                });
    }

    @Test
    @DisplayName("a file reported by both callers is applied once; a late report of its "
            + "deletion after it came back keeps its configuration")
    void oneApplyPerVersion() throws Exception {
        Path file = dir.resolve("ioasid.host-h1.config");
        File f = file.toFile();
        Files.writeString(file, "a=\"1\"\n");
        files.install(f);
        files.update(f);
        Files.writeString(file, "a=\"2\"\n");
        files.update(f);
        files.install(f);
        assertEquals(List.of("update 1", "update 2"), done);

        Files.delete(file);
        files.uninstall(f);
        files.uninstall(f);
        Files.writeString(file, "a=\"3\"\n");
        files.install(f);
        files.uninstall(f); // the deletion, reported late
        assertEquals(List.of("update 1", "update 2", "delete", "update 3"), done);
        assertEquals(1, configs.size());
        assertEquals(List.of(), warnings);
    }

    @Test
    @DisplayName("a file that does not parse is one line however often it is reported, and "
            + "one more when it is saved again")
    void oneLinePerBrokenVersion() throws Exception {
        Path file = dir.resolve("ioasid.host-h2.config");
        Files.writeString(file, "a=[\"1\"\n");
        files.install(file.toFile());
        files.update(file.toFile());
        files.install(file.toFile());
        assertEquals(1, warnings.size(), warnings.toString());
        Files.setLastModifiedTime(file, FileTime.fromMillis(
                Files.getLastModifiedTime(file).toMillis() + 2000));
        files.update(file.toFile());
        assertEquals(2, warnings.size(), warnings.toString());
        assertEquals(List.of(), done);
    }

    @Test
    @DisplayName("a start with many files lists Config Admin's configurations once, not once per "
            + "file, and a second Config Admin is listed again")
    void oneListingForManyFiles() throws Exception {
        for (int i = 0; i < 50; i++) {
            Path file = dir.resolve("ioasid.host-h" + i + ".config");
            Files.writeString(file, "a=\"" + i + "\"\n");
            files.install(file.toFile());
        }
        assertEquals(50, configs.size());
        assertEquals(1, listings.size(), "listings of Config Admin");
        Path file = dir.resolve("ioasid.host-h7.config");
        Files.writeString(file, "a=\"changed\"\n");
        files.update(file.toFile());
        Files.delete(dir.resolve("ioasid.host-h8.config"));
        files.uninstall(dir.resolve("ioasid.host-h8.config").toFile());
        assertEquals(1, listings.size(), "listings of Config Admin");
        assertEquals(49, configs.size());
        assertEquals("changed", configs.get(key(file)).get("a"));

        ca = admin(); // Config Admin restarted: what it holds is listed again
        Files.writeString(file, "a=\"again\"\n");
        files.update(file.toFile());
        assertEquals(2, listings.size(), "listings of Config Admin");
        assertEquals(49, configs.size());
        assertEquals(List.of(), warnings);
    }

    @Test
    @DisplayName("a configuration deleted or changed behind the files' back is looked up again: "
            + "the file's next version is applied to one configuration, never a stale one")
    void changedBehindTheBack() throws Exception {
        Path file = dir.resolve("ioasid.host-h1.config");
        Files.writeString(file, "a=\"1\"\n");
        files.install(file.toFile());
        configs.remove(key(file)); // deleted by an operator's command
        Files.writeString(file, "a=\"2\"\n");
        files.update(file.toFile());
        assertEquals(List.of("update 1", "update 2"), done);
        assertEquals("2", configs.get(key(file)).get("a"));
        assertEquals(1, configs.size());

        Path other = dir.resolve("ioasid.host-h2.config");
        Files.writeString(other, "a=\"x\"\n");
        files.install(other.toFile());
        // an operator points h1's configuration at the other file: h1's next version makes its own
        configs.put(key(other), configs.remove(key(file)));
        configs.get(key(other)).put(ConfigFiles.FILENAME, key(other));
        Files.writeString(file, "a=\"3\"\n");
        files.update(file.toFile());
        assertEquals("3", configs.get(key(file)).get("a"));
        assertEquals(2, configs.size());
        assertEquals(List.of(), warnings);
    }

    private static String key(Path file) {
        return file.toFile().getAbsoluteFile().toURI().toString();
    }
}

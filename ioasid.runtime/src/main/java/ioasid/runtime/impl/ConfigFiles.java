package ioasid.runtime.impl;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.Dictionary;
import java.util.Enumeration;
import java.util.HashMap;
import java.util.Hashtable;
import java.util.Map;
import java.util.Objects;

import org.apache.felix.fileinstall.ArtifactInstaller;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.service.cm.Configuration;
import org.osgi.service.cm.ConfigurationAdmin;

/**
 * The {@code *.config} files of deploy/, in FileInstall's place: FileInstall reads a file that
 * does not parse as Java properties instead, and applies it with quote marks in its values. Here
 * a file is read strictly ({@link ConfigFile}); one that does not parse is reported with its line
 * and column, and nothing of it is applied (a running instance keeps what it had). A factory
 * configuration without its instance name takes the one in the file's name
 * ({@code <pid>-<name>.config}), so an empty file does not come up as the default name and
 * collide. Values are checked against the Metatype definitions by the core, not here.
 *
 * <p>The runtime's watcher and FileInstall's poll both report each file, in either order and
 * FileInstall later: whatever the call, a file that is there is applied and one that is gone is
 * deleted, one call at a time, and a configuration already as the file says is not updated
 * again. A late report of a deletion cannot remove the configuration of a file written back
 * since.
 *
 * <p>Each file's configuration is found in an index by file, built from one listing per Config
 * Admin: a filter over every configuration for each file made a start with n files cost n²
 * filter matches. Only this class writes the file property, so a file missing from the index has
 * no configuration; one changed or deleted by someone else since is looked up again.
 */
final class ConfigFiles implements ArtifactInstaller {
    /** The property FileInstall sets, which the core reads to name the file in its lines. */
    static final String FILENAME = "felix.fileinstall.filename";

    private static final System.Logger LOG = System.getLogger("ioasid.runtime");

    /** ConfigurationAdmin, found when a file arrives; null if there is none. */
    interface Admin {
        ConfigurationAdmin get();
    }

    private final Admin admin;
    /** The version of each file last read, by its key: a second report of it is no change. */
    private final Map<String, FileStamp> handled = new HashMap<>();
    /** Each file's configuration, by its key, as of {@link #indexed}'s listing and our changes. */
    private final Map<String, Configuration> byFile = new HashMap<>();
    /** The Config Admin {@link #byFile} was listed from; null before the first lookup. */
    private ConfigurationAdmin indexed;

    ConfigFiles(Admin admin) {
        this.admin = admin;
    }

    @Override
    public boolean canHandle(File artifact) {
        return artifact.getName().endsWith(".config");
    }

    @Override
    public synchronized void install(File artifact) {
        sync(artifact);
    }

    @Override
    public synchronized void update(File artifact) {
        sync(artifact);
    }

    @Override
    public synchronized void uninstall(File artifact) {
        sync(artifact);
    }

    private void sync(File artifact) {
        BasicFileAttributes attrs;
        byte[] bytes;
        try {
            attrs = FileStamp.attributes(artifact.toPath());
            bytes = Files.readAllBytes(artifact.toPath());
        } catch (NoSuchFileException e) {
            bytes = null;
            attrs = null;
        } catch (IOException e) {
            LOG.log(System.Logger.Level.WARNING, shown(artifact) + ": cannot be read (" + e
                    + "); nothing applied");
            return;
        }
        if (bytes == null) {
            handled.remove(key(artifact));
            remove(artifact);
            return;
        }
        FileStamp stamp = FileStamp.of(attrs, bytes);
        if (!stamp.equals(handled.put(key(artifact), stamp))) {
            apply(artifact, new String(bytes, StandardCharsets.UTF_8));
        }
    }

    private void remove(File artifact) {
        ConfigurationAdmin ca = admin.get();
        if (ca == null) {
            return;
        }
        try {
            Configuration c = existing(ca, key(artifact));
            if (c != null) {
                c.delete();
            }
            byFile.remove(key(artifact));
        } catch (IOException | InvalidSyntaxException e) {
            LOG.log(System.Logger.Level.WARNING, shown(artifact) + ": not removed: " + e);
        }
    }

    private void apply(File artifact, String text) {
        Hashtable<String, Object> props;
        try {
            props = ConfigFile.parse(text);
        } catch (ConfigFile.SyntaxError e) {
            LOG.log(System.Logger.Level.WARNING, shown(artifact) + ": " + e.getMessage()
                    + "; nothing applied");
            return;
        }
        ConfigurationAdmin ca = admin.get();
        if (ca == null) {
            LOG.log(System.Logger.Level.WARNING, shown(artifact) + ": no Config Admin to apply "
                    + "it to");
            return;
        }
        String[] pid = pid(artifact.getName());
        String nameKey = nameKey(pid[0]);
        if (pid[1] != null && nameKey != null && !props.containsKey(nameKey)) {
            props.put(nameKey, pid[1]);
        }
        props.put(FILENAME, key(artifact));
        try {
            Configuration c = existing(ca, key(artifact));
            if (c == null) {
                c = pid[1] != null ? ca.getFactoryConfiguration(pid[0], pid[1], "?")
                        : ca.getConfiguration(pid[0], "?");
            }
            if (!same(props, c.getProperties())) {
                c.update(props);
            }
            byFile.put(key(artifact), c);
        } catch (IOException | InvalidSyntaxException | RuntimeException e) {
            LOG.log(System.Logger.Level.WARNING, shown(artifact) + ": not applied: " + e);
        }
    }

    /** {pid, name} of {@code <pid>-<name>.config}, or {pid, null} of {@code <pid>.config}. */
    static String[] pid(String fileName) {
        String base = fileName.substring(0, fileName.lastIndexOf('.'));
        int dash = base.indexOf('-');
        return dash > 0 ? new String[] {base.substring(0, dash), base.substring(dash + 1)}
                : new String[] {base, null};
    }

    /** The property that names an instance of the platform's factory PIDs. */
    static String nameKey(String factoryPid) {
        if (factoryPid.startsWith("ioasid.backend.")) {
            return "ioasid.iommu.name";
        }
        return factoryPid.equals("ioasid.host") ? "name" : null;
    }

    /** The configuration of the file with {@code key}, or null. */
    private Configuration existing(ConfigurationAdmin ca, String key)
            throws IOException, InvalidSyntaxException {
        if (ca != indexed) {
            byFile.clear();
            indexed = null;
            Configuration[] all = ca.listConfigurations("(" + FILENAME + "=*)");
            for (Configuration c : all == null ? new Configuration[0] : all) {
                String file = fileOf(c);
                if (file != null) {
                    byFile.putIfAbsent(file, c);
                }
            }
            indexed = ca;
        }
        Configuration c = byFile.get(key);
        if (c == null || key.equals(fileOf(c))) {
            return c;
        }
        // changed or deleted by someone else since: Config Admin says what is there now
        Configuration[] found = ca.listConfigurations("(" + FILENAME + "=" + escape(key) + ")");
        c = found == null || found.length == 0 ? null : found[0];
        if (c == null) {
            byFile.remove(key);
        } else {
            byFile.put(key, c);
        }
        return c;
    }

    /** The file property of {@code c}, or null if it has none or was deleted. */
    private static String fileOf(Configuration c) {
        try {
            Dictionary<String, Object> props = c.getProperties();
            Object file = props == null ? null : props.get(FILENAME);
            return file instanceof String s ? s : null;
        } catch (IllegalStateException deleted) {
            return null;
        }
    }

    private static boolean same(Dictionary<String, Object> want, Dictionary<String, Object> have) {
        if (have == null) {
            return false;
        }
        int n = 0;
        for (Enumeration<String> keys = have.keys(); keys.hasMoreElements();) {
            String k = keys.nextElement();
            if (k.equals("service.pid") || k.equals("service.factoryPid")
                    || k.equals("service.bundleLocation")) {
                continue;
            }
            n++;
            if (!Objects.deepEquals(want.get(k), have.get(k))) {
                return false;
            }
        }
        return n == want.size();
    }

    private static String key(File artifact) {
        return artifact.getAbsoluteFile().toURI().toString();
    }

    /** The path an operator typed: relative to the working directory when below it. */
    static String shown(File artifact) {
        Path cwd = Path.of("").toAbsolutePath();
        Path p = artifact.toPath().toAbsolutePath();
        return p.startsWith(cwd) ? cwd.relativize(p).toString() : p.toString();
    }

    private static String escape(String value) {
        StringBuilder sb = new StringBuilder();
        for (char c : value.toCharArray()) {
            if (c == '\\' || c == '(' || c == ')' || c == '*') {
                sb.append('\\');
            }
            sb.append(c);
        }
        return sb.toString();
    }
}

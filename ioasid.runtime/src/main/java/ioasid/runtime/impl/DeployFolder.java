package ioasid.runtime.impl;

import java.io.IOException;
import java.io.InputStream;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.TreeSet;

/*
 * The deploy folder and the runtime's own contents for it: the three backend jars and a default
 * configuration for each, embedded in ioasid.runtime.
 *
 * Rules:
 *  1. A missing folder is a first start: it is made and filled with everything.
 *  2. On any later start, a jar in the folder that holds one of the runtime's own bundles (by
 *     symbolic name, whatever the file is called) is replaced in place, with one line, when it is
 *     older: a lower Bundle-Version (a SNAPSHOT before its release), or the same version in a
 *     build that a runtime wrote there earlier. Builds are told apart by the SHA-256 of the jar,
 *     never by file timestamps, which a copy changes.
 *  3. A newer version is the operator's and stays, quietly. Another build of the same version
 *     that no runtime wrote stays too, with one line: it cannot be called older.
 *  4. A missing jar stays missing on start: deleting it is how an operator unplugs a backend.
 *     Configurations are the operator's and are never touched on start.
 *  5. restore() is the operator asking: every own bundle not in the folder as the runtime's own
 *     build is written (in place of what holds it, or under its own name), every default
 *     configuration whose file is missing is written, an existing configuration is kept.
 *  6. Files appear whole: each is written outside the folder and moved in, so the watcher never
 *     sees half a jar or half a configuration.
 *  7. The digests of the jars written are kept in the state folder (.ioasid/written-jars), which
 *     is how point 2 knows a build that a runtime wrote.
 */
final class DeployFolder {
    static final String RECORD = "written-jars";

    private final Path deploy;
    private final Path state;
    private final List<URL> own;

    /**
     * @param deploy the folder FileInstall watches
     * @param state where the record of written jars and the temporary files go
     * @param own the runtime's own entries, jars and configurations
     */
    DeployFolder(Path deploy, Path state, List<URL> own) {
        this.deploy = deploy;
        this.state = state;
        this.own = own;
    }

    /** The state folder beside a deploy folder: the working directory's .ioasid/. */
    static Path stateBeside(Path deploy) {
        Path parent = deploy.toAbsolutePath().getParent();
        return (parent != null ? parent : deploy.toAbsolutePath()).resolve(".ioasid");
    }

    boolean exists() {
        return Files.exists(deploy);
    }

    /** 1 above: makes the folder and writes every entry; returns the names written, sorted. */
    List<String> fill() throws IOException {
        Files.createDirectories(deploy);
        List<String> written = new ArrayList<>();
        for (Map.Entry<String, byte[]> e : load().entrySet()) {
            write(e.getKey(), e.getValue());
            written.add(e.getKey());
        }
        written.sort(null);
        return written;
    }

    /** 2 to 4 above: brings older own jars up to date; returns the lines to print. */
    List<String> checkOnStart() throws IOException {
        List<String> lines = new ArrayList<>();
        Set<String> record = readRecord();
        Map<String, byte[]> entries = load();
        for (Map.Entry<String, JarIdentity> e : ownJars(entries).entrySet()) {
            JarIdentity mine = e.getValue();
            byte[] bytes = entries.get(e.getKey());
            for (Map.Entry<Path, JarIdentity> d : deployed(mine.symbolicName()).entrySet()) {
                JarIdentity there = d.getValue();
                if (there.sameBuild(mine)) {
                    continue;
                }
                int c = JarIdentity.compare(there.version(), mine.version());
                String file = show(d.getKey());
                if (c < 0) {
                    replace(d.getKey(), bytes);
                    lines.add(file + " held " + there + ", older than the runtime's own "
                            + mine.version() + " (build " + mine.build() + "): replaced");
                } else if (c == 0 && record.contains(there.digest())) {
                    replace(d.getKey(), bytes);
                    lines.add(file + " held " + there + ", written there by an earlier"
                            + " runtime build: replaced by the runtime's own (build "
                            + mine.build() + ")");
                } else if (c == 0) {
                    lines.add(file + " holds another build of " + there + " than the runtime's"
                            + " own (build " + mine.build() + "): kept; runtime:restore puts the"
                            + " runtime's own back");
                }
            }
        }
        return lines;
    }

    /** 5 above: returns one line per file written, then a summary line. */
    List<String> restore() throws IOException {
        Files.createDirectories(deploy);
        List<String> lines = new ArrayList<>();
        int unchanged = 0;
        Map<String, byte[]> entries = load();
        for (Map.Entry<String, JarIdentity> e : ownJars(entries).entrySet()) {
            JarIdentity mine = e.getValue();
            Map<Path, JarIdentity> there = deployed(mine.symbolicName());
            if (there.isEmpty()) {
                write(e.getKey(), entries.get(e.getKey()));
                lines.add(show(deploy.resolve(e.getKey())) + ": written (it was missing), "
                        + mine);
                continue;
            }
            for (Map.Entry<Path, JarIdentity> d : there.entrySet()) {
                if (d.getValue().sameBuild(mine)) {
                    unchanged++;
                } else {
                    replace(d.getKey(), entries.get(e.getKey()));
                    lines.add(show(d.getKey()) + ": replaced " + d.getValue()
                            + " with the runtime's own " + mine.version() + " (build "
                            + mine.build() + ")");
                }
            }
        }
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            if (!isJar(e.getKey())) {
                if (Files.exists(deploy.resolve(e.getKey()))) {
                    unchanged++;
                } else {
                    write(e.getKey(), e.getValue());
                    lines.add(show(deploy.resolve(e.getKey())) + ": written (it was missing)");
                }
            }
        }
        if (lines.isEmpty()) {
            lines.add("nothing to restore: " + show(deploy) + "/ holds the runtime's own backend"
                    + " jars and every default configuration");
        } else {
            lines.add(lines.size() + (lines.size() == 1 ? " file" : " files") + " written; "
                    + unchanged + " left as they were (the runtime's own jars, your"
                    + " configurations)");
        }
        return lines;
    }

    /** Writes the bytes under the name of a file already in the folder. */
    private void replace(Path file, byte[] bytes) throws IOException {
        write(file.getFileName().toString(), bytes);
    }

    /** 6 above, and 7 for jars. */
    private void write(String name, byte[] bytes) throws IOException {
        Files.createDirectories(state);
        Path tmp = state.resolve(name + ".tmp");
        Files.write(tmp, bytes);
        Path target = deploy.resolve(name);
        if (isJar(name)) {
            Set<String> record = readRecord();
            if (record.add(JarIdentity.sha256(bytes))) {
                writeRecord(record);
            }
        }
        try {
            Files.move(tmp, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            // another file system: a plain move, which the installer's settling check covers
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    private Set<String> readRecord() throws IOException {
        Set<String> digests = new TreeSet<>();
        Path file = state.resolve(RECORD);
        if (Files.isRegularFile(file)) {
            for (String line : Files.readAllLines(file, StandardCharsets.UTF_8)) {
                String s = line.strip();
                if (!s.isEmpty() && !s.startsWith("#")) {
                    digests.add(s);
                }
            }
        }
        return digests;
    }

    private void writeRecord(Set<String> digests) throws IOException {
        StringBuilder sb = new StringBuilder("# SHA-256 of each backend jar the runtime wrote into"
                + " deploy/: a build listed here\n# and older than the runtime's own is replaced"
                + " on start\n");
        for (String d : digests) {
            sb.append(d).append('\n');
        }
        Path tmp = state.resolve(RECORD + ".tmp");
        Files.writeString(tmp, sb, StandardCharsets.UTF_8);
        Files.move(tmp, state.resolve(RECORD), StandardCopyOption.REPLACE_EXISTING,
                StandardCopyOption.ATOMIC_MOVE);
    }

    /** The jars in the folder holding the bundle, by file; unreadable jars are skipped. */
    private Map<Path, JarIdentity> deployed(String symbolicName) throws IOException {
        Map<Path, JarIdentity> found = new LinkedHashMap<>();
        if (!Files.isDirectory(deploy)) {
            return found;
        }
        List<Path> jars = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(deploy)) {
            for (Path p : ds) {
                if (isJar(p.getFileName().toString()) && Files.isRegularFile(p)) {
                    jars.add(p);
                }
            }
        }
        jars.sort(null);
        for (Path p : jars) {
            try {
                JarIdentity id = JarIdentity.of(p);
                if (id.symbolicName().equals(symbolicName)) {
                    found.put(p, id);
                }
            } catch (IOException e) {
                // not a bundle, or half written: the installer reports it, nothing to compare
            }
        }
        return found;
    }

    private static Map<String, JarIdentity> ownJars(Map<String, byte[]> entries)
            throws IOException {
        Map<String, JarIdentity> jars = new LinkedHashMap<>();
        for (Map.Entry<String, byte[]> e : entries.entrySet()) {
            if (isJar(e.getKey())) {
                jars.put(e.getKey(), JarIdentity.of(e.getValue()));
            }
        }
        return jars;
    }

    /** The own entries by file name, sorted. */
    private Map<String, byte[]> load() throws IOException {
        Map<String, byte[]> entries = new TreeMap<>();
        for (URL u : own) {
            String path = u.getPath();
            String name = path.substring(path.lastIndexOf('/') + 1);
            if (name.isEmpty()) {
                continue;
            }
            try (InputStream in = u.openStream()) {
                entries.put(name, in.readAllBytes());
            }
        }
        return entries;
    }

    static boolean isJar(String name) {
        return name.toLowerCase(Locale.ROOT).endsWith(".jar");
    }

    /** A file as the operator names it: deploy/backend.vtd.jar. */
    private String show(Path p) {
        return p.toString().replace('\\', '/');
    }
}

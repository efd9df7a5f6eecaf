package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.net.URL;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.jar.Attributes;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.jar.Manifest;
import java.util.stream.Stream;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.osgi.framework.Version;

import ioasid.api.IoasidException;

class DeployFolderTest {
    private static final String CONFIG = "ioasid.backend.vtd-dmar0.config";

    @TempDir
    Path dir;
    private Path deploy;
    private byte[] own;
    private DeployFolder folder;

    /** A bundle jar; the extra entry makes another build of the same version. */
    static byte[] bundle(String bsn, String version, String extra) throws IOException {
        Manifest m = new Manifest();
        Attributes a = m.getMainAttributes();
        a.put(Attributes.Name.MANIFEST_VERSION, "1.0");
        a.putValue("Bundle-ManifestVersion", "2");
        a.putValue("Bundle-SymbolicName", bsn);
        a.putValue("Bundle-Version", version);
        ByteArrayOutputStream bytes = new ByteArrayOutputStream();
        try (JarOutputStream out = new JarOutputStream(bytes, m)) {
            out.putNextEntry(new JarEntry("build.txt"));
            out.write(extra.getBytes(StandardCharsets.UTF_8));
            out.closeEntry();
        }
        return bytes.toByteArray();
    }

    @BeforeEach
    void setUp() throws IOException {
        Path src = Files.createDirectories(dir.resolve("own"));
        own = bundle("backend.vtd", "1.0.0.SNAPSHOT", "this build");
        Files.write(src.resolve("backend.vtd.jar"), own);
        Files.writeString(src.resolve(CONFIG), "ioasid.iommu.name=\"dmar0\"\n");
        deploy = dir.resolve("deploy");
        List<URL> entries = new ArrayList<>();
        for (String n : List.of("backend.vtd.jar", CONFIG)) {
            entries.add(src.resolve(n).toUri().toURL());
        }
        folder = new DeployFolder(deploy, DeployFolder.stateBeside(deploy), entries);
    }

    /** A file as the lines name it: the folder as configured, then the name. */
    private String shown(String name) {
        return deploy + "/" + name;
    }

    private List<String> start() throws IOException {
        return folder.checkOnStart();
    }

    @Test
    @DisplayName("the state folder is the working directory's .ioasid/, beside deploy/")
    void stateBeside() {
        assertEquals(dir.resolve(".ioasid").toAbsolutePath(), DeployFolder.stateBeside(deploy));
    }

    @Test
    @DisplayName("a lower Bundle-Version is replaced in place, under the operator's file name, "
            + "with one line; the next start says nothing")
    void olderVersionReplaced() throws IOException {
        folder.fill();
        Files.delete(deploy.resolve("backend.vtd.jar"));
        Files.write(deploy.resolve("vtd-old.jar"), bundle("backend.vtd", "0.9.0", "old"));
        List<String> lines = start();
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith(
                shown("vtd-old.jar") + " held backend.vtd 0.9.0 (build "),
                lines.toString());
        assertTrue(lines.get(0).contains("older than the runtime's own 1.0.0.SNAPSHOT"),
                lines.toString());
        assertTrue(lines.get(0).endsWith(": replaced"), lines.toString());
        assertArrayEquals(own, Files.readAllBytes(deploy.resolve("vtd-old.jar")));
        assertFalse(Files.exists(deploy.resolve("backend.vtd.jar")));
        assertEquals(List.of(), start());
    }

    @Test
    @DisplayName("a SNAPSHOT is older than its release; the release is older than the next")
    void snapshotBeforeRelease() {
        Version snap = Version.parseVersion("1.0.0.SNAPSHOT");
        Version rel = Version.parseVersion("1.0.0");
        assertTrue(JarIdentity.compare(snap, rel) < 0);
        assertTrue(JarIdentity.compare(rel, snap) > 0);
        assertTrue(JarIdentity.compare(rel, Version.parseVersion("1.0.1.SNAPSHOT")) < 0);
        assertTrue(JarIdentity.compare(Version.parseVersion("1.2.0"),
                Version.parseVersion("1.10.0")) < 0);
        assertEquals(0, JarIdentity.compare(snap, Version.parseVersion("1.0.0.SNAPSHOT")));
    }

    @Test
    @DisplayName("a newer version is the operator's: kept, without a word")
    void newerVersionKept() throws IOException {
        folder.fill();
        byte[] newer = bundle("backend.vtd", "1.1.0", "newer");
        Files.write(deploy.resolve("backend.vtd.jar"), newer);
        assertEquals(List.of(), start());
        assertArrayEquals(newer, Files.readAllBytes(deploy.resolve("backend.vtd.jar")));
    }

    @Test
    @DisplayName("a release of the runtime's SNAPSHOT version is newer: kept")
    void releaseKept() throws IOException {
        folder.fill();
        byte[] release = bundle("backend.vtd", "1.0.0", "release");
        Files.write(deploy.resolve("backend.vtd.jar"), release);
        assertEquals(List.of(), start());
        assertArrayEquals(release, Files.readAllBytes(deploy.resolve("backend.vtd.jar")));
    }

    @Test
    @DisplayName("another build of the same version that no runtime wrote is kept, with one line "
            + "naming both builds and the command that restores")
    void otherBuildKept() throws IOException {
        folder.fill();
        byte[] mine = bundle("backend.vtd", "1.0.0.SNAPSHOT", "built by hand");
        Files.write(deploy.resolve("backend.vtd.jar"), mine);
        List<String> lines = start();
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains("holds another build of backend.vtd 1.0.0.SNAPSHOT"),
                lines.toString());
        assertTrue(lines.get(0).contains(JarIdentity.sha256(own).substring(0, 12)),
                lines.toString());
        assertTrue(lines.get(0).contains("runtime:restore"), lines.toString());
        assertArrayEquals(mine, Files.readAllBytes(deploy.resolve("backend.vtd.jar")));
    }

    @Test
    @DisplayName("the same version in a build a runtime wrote earlier is older: replaced, with one "
            + "line")
    void earlierRuntimeBuildReplaced() throws IOException {
        // an earlier runtime, whose own jar was another build of the same version, filled it
        Path src = Files.createDirectories(dir.resolve("earlier"));
        byte[] earlier = bundle("backend.vtd", "1.0.0.SNAPSHOT", "earlier build");
        Files.write(src.resolve("backend.vtd.jar"), earlier);
        new DeployFolder(deploy, DeployFolder.stateBeside(deploy),
                List.of(src.resolve("backend.vtd.jar").toUri().toURL())).fill();
        List<String> lines = start();
        assertEquals(1, lines.size(), lines.toString());
        assertTrue(lines.get(0).contains("written there by an earlier runtime build: replaced"),
                lines.toString());
        assertArrayEquals(own, Files.readAllBytes(deploy.resolve("backend.vtd.jar")));
    }

    @Test
    @DisplayName("a missing jar stays missing on start, and so does a missing configuration")
    void missingStaysMissing() throws IOException {
        folder.fill();
        Files.delete(deploy.resolve("backend.vtd.jar"));
        Files.delete(deploy.resolve(CONFIG));
        assertEquals(List.of(), start());
        try (Stream<Path> files = Files.list(deploy)) {
            assertEquals(0, files.count());
        }
    }

    @Test
    @DisplayName("a jar that is not a bundle, or half a jar, is left to the installer")
    void notBundlesIgnored() throws IOException {
        folder.fill();
        Files.writeString(deploy.resolve("notes.jar"), "not a zip");
        Files.write(deploy.resolve("half.jar"),
                Arrays.copyOf(bundle("backend.vtd", "0.1.0", "x"), 40));
        assertEquals(List.of(), start());
        assertThrows(IOException.class, () -> JarIdentity.of(deploy.resolve("half.jar")));
    }

    @Test
    @DisplayName("restore writes a missing jar and configuration, replaces another build, keeps "
            + "an edited configuration, and reports each file; a second restore has nothing to do")
    void restore() throws IOException {
        folder.fill();
        Files.delete(deploy.resolve(CONFIG));
        Files.write(deploy.resolve("backend.vtd.jar"), bundle("backend.vtd", "2.0.0", "newer"));
        List<String> lines = folder.restore();
        assertEquals(3, lines.size(), lines.toString());
        assertTrue(lines.get(0).startsWith(
                shown("backend.vtd.jar") + ": replaced backend.vtd 2.0.0"),
                lines.toString());
        assertEquals(shown(CONFIG) + ": written (it was missing)", lines.get(1));
        assertEquals("2 files written; 0 left as they were (the runtime's own jars, your "
                + "configurations)", lines.get(2));
        assertArrayEquals(own, Files.readAllBytes(deploy.resolve("backend.vtd.jar")));

        Files.delete(deploy.resolve("backend.vtd.jar"));
        Files.writeString(deploy.resolve(CONFIG), "ioasid.iommu.name=\"edited\"\n");
        lines = folder.restore();
        assertEquals(List.of(shown("backend.vtd.jar") + ": written (it was missing), backend.vtd "
                + "1.0.0.SNAPSHOT (build " + JarIdentity.sha256(own).substring(0, 12) + ")",
                "1 file written; 1 left as they were (the runtime's own jars, your "
                        + "configurations)"), lines);
        assertEquals("ioasid.iommu.name=\"edited\"\n", Files.readString(deploy.resolve(CONFIG)));
        assertEquals(List.of("nothing to restore: " + shown("") + " holds the runtime's own "
                + "backend jars and every default configuration"), folder.restore());
    }

    @Test
    @DisplayName("restore into a folder that cannot be written fails with what it could not do")
    void restoreFails() throws IOException {
        Files.writeString(deploy, "a file where the folder should be");
        assertThrows(IOException.class, folder::restore);
        RuntimeCommands commands = new RuntimeCommands(folder);
        IoasidException e = assertThrows(IoasidException.class,
                commands::restore);
        assertTrue(e.getMessage().startsWith("EIO: restore: cannot write deploy/: "),
                e.getMessage());
    }
}

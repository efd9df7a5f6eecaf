package ioasid.runtime.impl;

import java.io.ByteArrayInputStream;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.util.HexFormat;
import java.util.jar.Attributes;
import java.util.jar.JarFile;
import java.util.jar.JarInputStream;
import java.util.jar.Manifest;

import org.osgi.framework.Constants;
import org.osgi.framework.Version;

/**
 * Which bundle a jar holds and which build of it: the symbolic name and version from its
 * manifest, and the SHA-256 of its bytes. The builds are reproducible, so one build of one
 * version always has one digest, whatever the file's name or timestamps.
 */
final class JarIdentity {
    private final String symbolicName;
    private final Version version;
    private final String digest;

    private JarIdentity(String symbolicName, Version version, String digest) {
        this.symbolicName = symbolicName;
        this.version = version;
        this.digest = digest;
    }

    /**
     * Reads a jar from a file; opening it as a zip first rejects a file still being written,
     * whose central directory at the end is missing.
     *
     * @throws IOException when the file is not a whole jar with a bundle manifest
     */
    static JarIdentity of(Path jar) throws IOException {
        requireWhole(jar);
        return of(Files.readAllBytes(jar));
    }

    /** Whether the file opens as a whole jar; false for one still being written. */
    static boolean opensWhole(Path jar) {
        try {
            requireWhole(jar);
            return true;
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** @throws IOException when the file does not open as a whole jar */
    static void requireWhole(Path jar) throws IOException {
        try (JarFile whole = new JarFile(jar.toFile())) {
            whole.getManifest();
        }
    }

    /** @throws IOException when the bytes are not a jar with a bundle manifest */
    static JarIdentity of(byte[] jar) throws IOException {
        Manifest m;
        try (JarInputStream in = new JarInputStream(new ByteArrayInputStream(jar))) {
            m = in.getManifest();
        }
        if (m == null) {
            throw new IOException("no manifest");
        }
        Attributes a = m.getMainAttributes();
        String bsn = a.getValue(Constants.BUNDLE_SYMBOLICNAME);
        if (bsn == null || bsn.isBlank()) {
            throw new IOException("no Bundle-SymbolicName, not an OSGi bundle");
        }
        int semicolon = bsn.indexOf(';');
        String name = (semicolon < 0 ? bsn : bsn.substring(0, semicolon)).strip();
        Version v;
        try {
            String s = a.getValue(Constants.BUNDLE_VERSION);
            v = s == null ? Version.emptyVersion : Version.parseVersion(s.strip());
        } catch (IllegalArgumentException e) {
            throw new IOException("Bundle-Version " + a.getValue(Constants.BUNDLE_VERSION)
                    + " is not a version");
        }
        return new JarIdentity(name, v, sha256(jar));
    }

    static String sha256(byte[] bytes) {
        try {
            return HexFormat.of().formatHex(MessageDigest.getInstance("SHA-256").digest(bytes));
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java platform has SHA-256", e);
        }
    }

    String symbolicName() {
        return symbolicName;
    }

    Version version() {
        return version;
    }

    /** The SHA-256 of the jar, in hex. */
    String digest() {
        return digest;
    }

    /** The start of the digest, enough to tell builds apart on a line. */
    String build() {
        return digest.substring(0, 12);
    }

    boolean sameBuild(JarIdentity other) {
        return digest.equals(other.digest);
    }

    /**
     * Orders versions as OSGi does, except that a SNAPSHOT comes before the release of the same
     * major.minor.micro, as in Maven: 1.0.0.SNAPSHOT, then 1.0.0.
     */
    static int compare(Version a, Version b) {
        int c = Integer.compare(a.getMajor(), b.getMajor());
        if (c == 0) {
            c = Integer.compare(a.getMinor(), b.getMinor());
        }
        if (c == 0) {
            c = Integer.compare(a.getMicro(), b.getMicro());
        }
        if (c != 0) {
            return c;
        }
        boolean snapshotA = a.getQualifier().endsWith("SNAPSHOT");
        boolean snapshotB = b.getQualifier().endsWith("SNAPSHOT");
        if (snapshotA != snapshotB) {
            return snapshotA ? -1 : 1;
        }
        return a.getQualifier().compareTo(b.getQualifier());
    }

    /** "backend.vtd 1.0.0.SNAPSHOT (build 3f2a9c1d0e4b)" */
    @Override
    public String toString() {
        return symbolicName + " " + version + " (build " + build() + ")";
    }
}

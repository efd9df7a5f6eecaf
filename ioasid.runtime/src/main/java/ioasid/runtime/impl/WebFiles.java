package ioasid.runtime.impl;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AtomicMoveNotSupportedException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.security.SecureRandom;
import java.util.ArrayList;
import java.util.Base64;
import java.util.Hashtable;
import java.util.List;

/*
 * The web console's address and credentials, secure by default:
 *  1. deploy/org.apache.felix.http.config, when missing, is written with the host 127.0.0.1 and
 *     the port given by the property org.osgi.service.http.port, else 8080. HTTP does not start
 *     without it (org.apache.felix.http.require.config), so nothing binds before it is read.
 *  2. deploy/ioasid.http.config, when missing, is written with the user "admin" and a new random
 *     password as "{sha-256}<Base64 of SHA-256 of its UTF-8 bytes>"; the plain password goes to
 *     .ioasid/http-password, readable and writable by its owner only (0600 where the file system
 *     is POSIX), and one line says where. No default password exists anywhere.
 *  3. Both are the operator's once written: a later start keeps them as they are. Deleting
 *     ioasid.http.config is how the password is reset: the next start writes a new one.
 *  4. Each file appears whole (written beside, then moved in), so the watcher never reads half.
 */
final class WebFiles {
    static final String ADDRESS = "org.apache.felix.http.config";
    static final String CREDENTIALS = "ioasid.http.config";
    static final String PASSWORD = "http-password";
    static final String PORT_PROPERTY = "org.osgi.service.http.port";
    static final int DEFAULT_PORT = 8080;
    static final String USER = "admin";

    private final Path deploy;
    private final Path state;
    private final SecureRandom random;

    WebFiles(Path deploy, Path state, SecureRandom random) {
        this.deploy = deploy;
        this.state = state;
        this.random = random;
    }

    /**
     * 1 and 2 above.
     *
     * @param port the value of {@value #PORT_PROPERTY}, or null
     * @return the lines to print, one per file written, or naming a port that is not one
     */
    List<String> ensure(String port) throws IOException {
        List<String> lines = new ArrayList<>();
        Files.createDirectories(deploy);
        Path address = deploy.resolve(ADDRESS);
        if (!Files.exists(address)) {
            int p = DEFAULT_PORT;
            if (port != null) {
                try {
                    p = Integer.parseInt(port.trim());
                } catch (NumberFormatException e) {
                    p = -1;
                }
                if (p < 0 || p > 65535) {
                    lines.add(PORT_PROPERTY + "=" + port + " is not a port; " + DEFAULT_PORT
                            + " used");
                    p = DEFAULT_PORT;
                }
            }
            write(address, addressFile(p), false);
        }
        Path credentials = deploy.resolve(CREDENTIALS);
        if (!Files.exists(credentials)) {
            String password = password();
            Path plain = state.resolve(PASSWORD).toAbsolutePath();
            write(plain, password + "\n", true);
            write(credentials, credentialsFile(USER, hash(password)), true);
            lines.add("web console user " + USER + ", password in " + plain
                    + " (readable by its owner only)");
        }
        return lines;
    }

    static String addressFile(int port) {
        return "# The HTTP server of the web console: 127.0.0.1 keeps it on this machine.\n"
                + "org.apache.felix.http.host=\"127.0.0.1\"\n"
                + "org.osgi.service.http.port=I\"" + port + "\"\n";
    }

    static String credentialsFile(String user, String hash) {
        return "# The web console's user and the SHA-256 of its password (see the README).\n"
                + "username=\"" + user + "\"\n"
                + "password=\"" + hash + "\"\n";
    }

    /** The password in the form the configuration holds: {sha-256} and Base64 of the digest. */
    static String hash(String password) {
        try {
            byte[] d = MessageDigest.getInstance("SHA-256")
                    .digest(password.getBytes(StandardCharsets.UTF_8));
            return "{sha-256}" + Base64.getEncoder().encodeToString(d);
        } catch (NoSuchAlgorithmException e) {
            throw new IllegalStateException("every Java has SHA-256", e);
        }
    }

    /** 128 random bits, URL-safe Base64 without padding: 22 characters easy to paste. */
    private String password() {
        byte[] b = new byte[16];
        random.nextBytes(b);
        return Base64.getUrlEncoder().withoutPadding().encodeToString(b);
    }

    /** Writes beside the target and moves it in; private files are 0600 from their creation. */
    private void write(Path target, String text, boolean ownerOnly) throws IOException {
        Files.createDirectories(target.toAbsolutePath().getParent());
        Path tmp = state.resolve(target.getFileName() + ".tmp");
        Files.createDirectories(state);
        Files.deleteIfExists(tmp);
        if (ownerOnly && tmp.getFileSystem().supportedFileAttributeViews().contains("posix")) {
            try {
                Files.createFile(tmp, PosixFilePermissions.asFileAttribute(
                        PosixFilePermissions.fromString("rw-------")));
            } catch (FileAlreadyExistsException e) {
                throw new IOException(tmp + " appeared while being written", e);
            }
        }
        Files.writeString(tmp, text, StandardCharsets.UTF_8, StandardOpenOption.CREATE,
                StandardOpenOption.TRUNCATE_EXISTING, StandardOpenOption.WRITE);
        try {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING,
                    StandardCopyOption.ATOMIC_MOVE);
        } catch (AtomicMoveNotSupportedException e) {
            Files.move(tmp, target, StandardCopyOption.REPLACE_EXISTING);
        }
    }

    /**
     * The web console's user and password hash as deploy/ioasid.http.config holds them, for the
     * console's start-up defaults; null when the file is missing or does not say both.
     */
    String[] credentials() {
        try {
            Hashtable<String, Object> c = ConfigFile.parse(Files.readString(
                    deploy.resolve(CREDENTIALS), StandardCharsets.UTF_8));
            Object user = c.get("username");
            Object hash = c.get("password");
            if (user instanceof String && hash instanceof String) {
                return new String[] {(String) user, (String) hash};
            }
        } catch (IOException | ConfigFile.SyntaxError e) {
            // null: the console stays locked
        }
        return null;
    }

    /** A hash no password has: the console's default while no credentials are known. */
    String locked() {
        byte[] b = new byte[32];
        random.nextBytes(b);
        return "{sha-256}" + Base64.getEncoder().encodeToString(b);
    }
}

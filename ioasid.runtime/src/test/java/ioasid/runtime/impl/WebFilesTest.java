package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.security.MessageDigest;
import java.security.SecureRandom;
import java.util.Base64;
import java.util.Hashtable;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class WebFilesTest {
    @TempDir
    Path dir;

    private WebFiles files() {
        return new WebFiles(dir.resolve("deploy"), dir.resolve(".ioasid"), new SecureRandom());
    }

    @Test
    void firstStartWritesAddressCredentialsAndAPrivatePassword() throws Exception {
        List<String> lines = files().ensure("9123");
        Path plain = dir.resolve(".ioasid/http-password");
        assertEquals(List.of("web console user admin, password in " + plain.toAbsolutePath()
                + " (readable by its owner only)"), lines);
        Hashtable<String, Object> address = ConfigFile.parse(
                Files.readString(dir.resolve("deploy/org.apache.felix.http.config")));
        assertEquals("127.0.0.1", address.get("org.apache.felix.http.host"));
        assertEquals(9123, address.get("org.osgi.service.http.port"));
        String password = Files.readString(plain).strip();
        assertEquals(22, password.length());
        Hashtable<String, Object> c = ConfigFile.parse(
                Files.readString(dir.resolve("deploy/ioasid.http.config")));
        assertEquals("admin", c.get("username"));
        String expected = "{sha-256}" + Base64.getEncoder().encodeToString(MessageDigest
                .getInstance("SHA-256").digest(password.getBytes(StandardCharsets.UTF_8)));
        assertEquals(expected, c.get("password"));
        assertArrayEquals(new String[] {"admin", expected}, files().credentials());
        assumeTrue(plain.getFileSystem().supportedFileAttributeViews().contains("posix"));
        assertEquals("rw-------",
                PosixFilePermissions.toString(Files.getPosixFilePermissions(plain)));
        assertEquals("rw-------", PosixFilePermissions.toString(
                Files.getPosixFilePermissions(dir.resolve("deploy/ioasid.http.config"))));
    }

    @Test
    void laterStartsKeepWhatIsThere() throws Exception {
        files().ensure(null);
        Path cred = dir.resolve("deploy/ioasid.http.config");
        Path address = dir.resolve("deploy/org.apache.felix.http.config");
        Files.writeString(address, "org.osgi.service.http.port=I\"9999\"\n");
        String before = Files.readString(cred);
        String plain = Files.readString(dir.resolve(".ioasid/http-password"));
        assertEquals(List.of(), files().ensure("1234"));
        assertEquals(before, Files.readString(cred));
        assertEquals(plain, Files.readString(dir.resolve(".ioasid/http-password")));
        assertEquals("org.osgi.service.http.port=I\"9999\"\n", Files.readString(address));
    }

    @Test
    void defaultPortAndOneLineForABadOne() throws Exception {
        List<String> lines = files().ensure("http");
        assertEquals("org.osgi.service.http.port=http is not a port; 8080 used", lines.get(0));
        assertEquals(8080, ConfigFile.parse(Files.readString(
                dir.resolve("deploy/org.apache.felix.http.config")))
                .get("org.osgi.service.http.port"));
    }

    @Test
    void deletedCredentialsGetANewPassword() throws Exception {
        files().ensure(null);
        String first = Files.readString(dir.resolve(".ioasid/http-password"));
        Files.delete(dir.resolve("deploy/ioasid.http.config"));
        assertEquals(1, files().ensure(null).size());
        assertNotEquals(first, Files.readString(dir.resolve(".ioasid/http-password")));
    }

    @Test
    void unreadableCredentialsAreNone() throws Exception {
        assertNull(files().credentials());
        Files.createDirectories(dir.resolve("deploy"));
        Files.writeString(dir.resolve("deploy/ioasid.http.config"), "username=\"admin\n");
        assertNull(files().credentials());
        String locked = files().locked();
        assertTrue(locked.startsWith("{sha-256}"));
        assertNotEquals(locked, files().locked());
    }

    @Test
    void hashIsTheContractsForm() {
        // echo -n admin | sha256sum | xxd -r -p | base64
        assertEquals("{sha-256}jGl25bVBBBW96Qi9Te4V37Fnqchz/Eu4qB9vKrRIqRg=",
                WebFiles.hash("admin"));
    }
}

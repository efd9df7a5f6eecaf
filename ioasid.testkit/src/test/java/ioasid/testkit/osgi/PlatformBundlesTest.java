package ioasid.testkit.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PlatformBundlesTest {
    @AfterEach
    void noDirectory() {
        System.clearProperty(PlatformBundles.DIRECTORY);
    }

    @Test
    void platformBundlesAreMavenUrlsAtTheKitsVersion() {
        System.clearProperty(PlatformBundles.DIRECTORY);
        String v = PlatformBundles.version();
        assertTrue(v.matches("\\d+\\.\\d+\\.\\d+.*"), v);
        assertEquals("mvn:org.ioasid/backend.vtd/" + v, PlatformBundles.location("backend.vtd"));
        List<String> platform = PlatformBundles.platform();
        assertEquals("mvn:org.apache.felix/org.apache.felix.scr/2.2.18", platform.get(3));
        assertEquals(List.of("mvn:org.ioasid/ioasid.api/" + v, "mvn:org.ioasid/ioasid.testkit/" + v,
                "mvn:org.ioasid/ioasid.core/" + v), platform.subList(platform.size() - 3,
                        platform.size()));
        assertTrue(PlatformBundles.shell().contains("mvn:org.jline/jline/3.21.0"));
    }

    @Test
    void aDirectoryReplacesTheRepository(@TempDir Path dir) throws Exception {
        Files.writeString(dir.resolve("backend.vtd.jar"), "not really a jar");
        System.setProperty(PlatformBundles.DIRECTORY, dir.toString());
        assertEquals(dir.resolve("backend.vtd.jar").toFile().toURI().toString(),
                PlatformBundles.location("backend.vtd"));
        try (var in = PlatformBundles.open("backend.vtd")) {
            assertEquals("not really a jar", new String(in.readAllBytes()));
        }
        IllegalStateException missing = assertThrows(IllegalStateException.class,
                () -> PlatformBundles.location("backend.smmuv3"));
        assertTrue(missing.getMessage().contains("backend.smmuv3.jar"), missing.getMessage());
    }

    @Test
    void everyCoordinateIsComplete() {
        for (String c : PlatformBundles.coordinates()) {
            assertEquals(3, c.split(":").length, c);
        }
        assertEquals(48, PlatformBundles.coordinates().size());
        assertEquals(17, PlatformBundles.web().size());
        assertEquals(8, PlatformBundles.metrics().size());
        assertTrue(PlatformBundles.metrics().get(7).contains("ioasid.metrics"),
                PlatformBundles.metrics().toString());
        assertEquals(5, PlatformBundles.health().size());
        assertTrue(PlatformBundles.health().get(4).contains("ioasid.health"),
                PlatformBundles.health().toString());
    }
}

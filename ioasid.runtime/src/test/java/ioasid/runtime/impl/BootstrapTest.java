package ioasid.runtime.impl;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.net.URL;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.stream.Stream;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootstrapTest {

    @Test
    @DisplayName("first start: the deploy folder is made and gets the entries, no temporary file left")
    void populate(@TempDir Path dir) throws IOException {
        Path src = dir.resolve("src");
        Files.createDirectories(src);
        Files.write(src.resolve("backend.smmuv3.jar"), new byte[] {1, 2, 3});
        Files.writeString(src.resolve("ioasid.backend.vtd-dmar0.config"), "pss=I\"19\"\n");
        Path deploy = dir.resolve("deploy");
        List<URL> entries = List.of(src.resolve("backend.smmuv3.jar").toUri().toURL(),
                src.resolve("ioasid.backend.vtd-dmar0.config").toUri().toURL());
        List<String> written = Bootstrap.populate(deploy, entries);
        assertEquals(List.of("backend.smmuv3.jar", "ioasid.backend.vtd-dmar0.config"), written);
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(deploy.resolve("backend.smmuv3.jar")));
        try (Stream<Path> files = Files.list(deploy)) {
            assertTrue(files.noneMatch(p -> p.getFileName().toString().endsWith(".tmp")));
        }
    }

    @Test
    @DisplayName("the late start level is for a runtime that keeps running: a console on a "
            + "terminal or a pipe, --serve; not one that runs a script and shuts down")
    void servesOrRunsAScript() {
        assertTrue(Bootstrap.serves(new String[0], null));
        assertTrue(Bootstrap.serves(new String[] {"--serve"}, null));
        assertTrue(Bootstrap.serves(new String[] {"--nointeractive"}, null));
        assertTrue(Bootstrap.serves(new String[0], "--nointeractive"));
        assertTrue(Bootstrap.serves(new String[0], " "));
        assertFalse(Bootstrap.serves(new String[] {"-c", "iommu:await 3"}, null));
        assertFalse(Bootstrap.serves(new String[] {"--noshutdown", "--command", "lb"}, null));
        assertFalse(Bootstrap.serves(new String[] {"boot.gosh"}, null));
        assertFalse(Bootstrap.serves(new String[] {"--help"}, null));
        assertFalse(Bootstrap.serves(new String[0], "--nointeractive -c 'lb'"));
        assertFalse(Bootstrap.serves(new String[] {"-c", "lb"}, "--serve"));
    }

    @Test
    @DisplayName("a launch that only asks for the usage, or that the console refuses, leaves "
            + "deploy/ alone")
    void preparesNothingForHelpOrBadArguments(@org.junit.jupiter.api.io.TempDir Path dir)
            throws Exception {
        Path script = java.nio.file.Files.writeString(dir.resolve("boot.gosh"), "lb\n");
        for (String[] bad : new String[][] {{"--help"}, {"--nointeractive", "-h"}, {"--bogus"},
            {"--nobogus"}, {"-c"}, {"--serve", "x"}, {dir.resolve("missing.gosh").toString()},
            {script.toString(), "extra"}, {dir.toString()}}) {
            assertTrue(Bootstrap.preparesNothing(bad, null), String.join(" ", bad));
        }
        assertTrue(Bootstrap.preparesNothing(new String[0], "--help"));
        for (String[] good : new String[][] {{}, {"--serve"}, {"--nointeractive"},
            {"-c", "--help"}, {"--command", "lb"}, {"--noshutdown", "-c", "lb"},
            {script.toString()}}) {
            assertFalse(Bootstrap.preparesNothing(good, null), String.join(" ", good));
        }
        assertFalse(Bootstrap.preparesNothing(new String[0], null));
        assertFalse(Bootstrap.preparesNothing(new String[0], " "));
    }

    @Test
    @DisplayName("the default configurations name each instance and list devices")
    void defaultConfigurations() throws IOException {
        for (String name : List.of("ioasid.backend.smmuv3-smmu0.config",
                "ioasid.backend.vtd-dmar0.config", "ioasid.backend.virtio-viommu0.config")) {
            try (var in = Bootstrap.class.getResourceAsStream("/deploy/" + name)) {
                String text = new String(in.readAllBytes());
                assertTrue(text.contains("ioasid.iommu.name=\""), name);
                assertTrue(text.contains("devices=["), name);
            }
        }
    }
}

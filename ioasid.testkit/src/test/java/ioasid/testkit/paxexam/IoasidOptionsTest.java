package ioasid.testkit.paxexam;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.logging.Level;
import java.util.logging.Logger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.ops4j.pax.exam.Option;
import org.ops4j.pax.exam.OptionUtils;
import org.ops4j.pax.exam.options.ProvisionOption;
import org.ops4j.pax.exam.options.SystemPropertyOption;

import ioasid.testkit.osgi.PlatformBundles;

class IoasidOptionsTest {
    @AfterEach
    void clear() {
        System.clearProperty("maven.repo.local");
        System.clearProperty("org.ops4j.pax.url.mvn.offline");
    }

    private static Map<String, String> systemProperties(Option o) {
        Map<String, String> p = new LinkedHashMap<>();
        for (Option x : OptionUtils.expand(o)) {
            if (x instanceof SystemPropertyOption s) {
                p.put(s.getKey(), s.getValue());
            }
        }
        return p;
    }

    private static List<String> urls(Option o) {
        return Arrays.stream(OptionUtils.expand(o)).filter(ProvisionOption.class::isInstance)
                .map(x -> ((ProvisionOption<?>) x).getURL()).toList();
    }

    @Test
    void thePlatformFailsOnUnresolvedBundlesAndResolvesOfflineFromTheLocalRepository() {
        System.setProperty("maven.repo.local", "/tmp/some-repo");
        Map<String, String> p = systemProperties(IoasidOptions.platform());
        assertEquals("true", p.get("pax.exam.osgi.unresolved.fail"));
        assertEquals("/tmp/some-repo", p.get("org.ops4j.pax.url.mvn.localRepository"));
        assertEquals("true", p.get("org.ops4j.pax.url.mvn.offline"));
        assertEquals("false", p.get("org.ops4j.pax.url.mvn.useFallbackRepositories"));
        assertEquals("warn", p.get("org.slf4j.simpleLogger.defaultLogLevel"));
    }

    @Test
    void aPaxUrlSettingAlreadyMadeWins() {
        System.setProperty("org.ops4j.pax.url.mvn.offline", "false");
        Map<String, String> p = systemProperties(IoasidOptions.platform());
        assertEquals("false", p.get("org.ops4j.pax.url.mvn.offline"));
        assertFalse(p.containsKey("org.ops4j.pax.url.mvn.localRepository"),
                "pax-url's own default without maven.repo.local");
    }

    @Test
    void thePlatformInstallsItsBundlesInOrderAfterLogging() {
        List<String> urls = urls(IoasidOptions.platform());
        List<String> platform = PlatformBundles.platform();
        assertEquals(platform, urls.subList(urls.size() - platform.size(), urls.size()));
        assertTrue(urls.containsAll(PlatformBundles.logging()));
        assertEquals(PlatformBundles.shell(), urls(IoasidOptions.shell()));
        assertEquals(List.of(PlatformBundles.location("backend.smmuv3"),
                PlatformBundles.location("backend.vtd"), PlatformBundles.location("backend.virtio")),
                urls(IoasidOptions.backends()));
    }

    @Test
    void theSlf4jBindingIsAFragmentAndNotStarted() {
        for (Option o : OptionUtils.expand(IoasidOptions.platform())) {
            if (o instanceof ProvisionOption<?> p && p.getURL().contains("slf4j-simple")) {
                assertFalse(p.shouldStart());
                return;
            }
        }
        throw new AssertionError("no slf4j-simple");
    }

    @Test
    void thePlatformsLogsShowWarningsOnlyUnlessTheRunConfiguresLogging() {
        Logger platform = Logger.getLogger("ioasid");
        String config = System.getProperty("java.util.logging.config.file");
        try {
            System.setProperty("java.util.logging.config.file", "configured");
            platform.setLevel(null);
            IoasidOptions.platform();
            assertNull(platform.getLevel(), "the run's configuration stands");
            System.clearProperty("java.util.logging.config.file");
            IoasidOptions.platform();
            assertEquals(Level.WARNING, Logger.getLogger("ioasid.core").getParent().getLevel());
            assertFalse(Logger.getLogger("ioasid.core").isLoggable(Level.INFO));
        } finally {
            platform.setLevel(null);
            if (config != null) {
                System.setProperty("java.util.logging.config.file", config);
            }
        }
    }

    @Test
    void bundleOfFindsTheJarOfAClassAndRefusesAClassesDirectory() {
        String url = urls(IoasidOptions.bundleOf(Option.class)).get(0);
        assertTrue(url.startsWith("file:") && url.endsWith(".jar"), url);
        IllegalStateException e = assertThrows(IllegalStateException.class,
                () -> IoasidOptions.bundleOf(IoasidOptionsTest.class));
        assertTrue(e.getMessage().contains("after package"), e.getMessage());
    }
}

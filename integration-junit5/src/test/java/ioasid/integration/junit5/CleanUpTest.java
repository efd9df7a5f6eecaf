package ioasid.integration.junit5;

import static ioasid.testkit.osgi.Configs.smmu;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;
import java.util.Hashtable;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.extension.ExtendWith;
import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.service.cm.Configuration;
import org.osgi.test.common.annotation.InjectBundleContext;
import org.osgi.test.junit5.context.BundleContextExtension;

import ioasid.api.spi.IoasidListener;
import ioasid.testkit.junit5.IoasidExtension;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.TinyBundles;

/**
 * The extension puts the framework back after each test: the first test leaves a backend
 * configured, a configuration created, one changed and one deleted, a stopped bundle and a
 * bundle of its own installed; the second finds none of it. The two SMMUs configured for the
 * class are there before each test.
 */
@ExtendWith({BundleContextExtension.class, IoasidExtension.class})
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CleanUpTest {
    static final String LISTENERS = "ioasid.testkit.listener.";
    static final String KEPT = "0000:00:05.0";

    @InjectBundleContext
    BundleContext context;

    @BeforeAll
    static void configureTheClassesBackends(IoasidPlatform platform) throws Exception {
        platform.configure(smmu("smmu5", KEPT), smmu("smmu6", "0000:00:06.0"));
        platform.awaitBackends("smmu5", "smmu6");
    }

    @AfterAll
    static void removeThem(IoasidPlatform platform) throws Exception {
        for (String name : new String[] {"smmu5", "smmu6"}) {
            config(platform, name).delete();
            platform.awaitGone(name);
        }
    }

    private static Configuration config(IoasidPlatform platform, String name) throws Exception {
        return platform.configurationAdmin().getFactoryConfiguration("ioasid.backend.smmuv3",
                name, "?");
    }

    @Test
    @Order(1)
    void leavesTheFrameworkChanged(IoasidPlatform platform) throws Exception {
        platform.configure(smmu("smmu7", "0000:00:07.0"), smmu("smmu5", KEPT, "0000:00:15.0"));
        platform.awaitBackend("smmu7");
        config(platform, "smmu6").delete();
        platform.awaitGone("smmu6");
        Configuration core = platform.configurationAdmin().getConfiguration("ioasid.core", "?");
        core.update(new Hashtable<>(Map.of("listener.stall.timeout.ms", 5000L)));
        platform.bundle("backend.vtd").stop();
        // one through the test bundle's own context, which osgi-test does not clean up, one
        // through osgi-test's, which both clean up
        platform.context().installBundle("tiny:left",
                TinyBundles.listener("left", IoasidListener.PRIORITY_LAST)).start();
        context.installBundle("tiny:injected",
                TinyBundles.listener("injected", IoasidListener.PRIORITY_LAST)).start();
    }

    @Test
    @Order(2)
    void findsItAsBefore(IoasidPlatform platform) throws Exception {
        assertFalse(platform.hasBackend("smmu7"), "the backend the first test configured");
        assertNull(platform.configurationAdmin().listConfigurations(
                "(service.pid=ioasid.backend.smmuv3~smmu7)"), "its configuration");
        assertArrayEquals(new String[] {KEPT}, (String[]) config(platform, "smmu5")
                .getProperties().get("devices"), "the configuration the first test changed");
        assertArrayEquals(new String[] {KEPT}, platform.awaitBackend("smmu5").devices,
                "the backend whose configuration the first test changed");
        assertEquals("ACTIVE", platform.awaitBackend("smmu6").state,
                "the backend whose configuration the first test deleted");
        assertNull(platform.configurationAdmin().listConfigurations("(service.pid=ioasid.core)"),
                "the core's configuration the first test created");
        assertEquals(Bundle.ACTIVE, platform.bundle("backend.vtd").getState(),
                "the bundle the first test stopped");
        assertFalse(Arrays.stream(context.getBundles()).anyMatch(
                b -> b.getSymbolicName().startsWith(LISTENERS)), "the bundles the first test "
                + "installed");
    }
}

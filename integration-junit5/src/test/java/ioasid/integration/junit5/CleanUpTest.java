package ioasid.integration.junit5;

import static ioasid.testkit.osgi.Configs.smmu;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;

import java.util.Arrays;

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
 * configured, a changed configuration, a stopped bundle and a bundle of its own installed; the
 * second finds none of it.
 */
@ExtendWith({BundleContextExtension.class, IoasidExtension.class})
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class CleanUpTest {
    static final String LISTENER = "ioasid.testkit.listener.left";

    @InjectBundleContext
    BundleContext context;

    @Test
    @Order(1)
    void leavesTheFrameworkChanged(IoasidPlatform platform) throws Exception {
        platform.configure(smmu("smmu7", "0000:00:07.0"));
        platform.awaitBackend("smmu7");
        Configuration core = platform.configurationAdmin().getConfiguration("ioasid.core", "?");
        core.update(new java.util.Hashtable<>(java.util.Map.of(
                "listener.stall.timeout.ms", 5000L)));
        platform.bundle("backend.vtd").stop();
        // the framework's own context: a bundle osgi-test's context would not clean up itself
        platform.context().installBundle("tiny:left",
                TinyBundles.listener("left", IoasidListener.PRIORITY_LAST)).start();
    }

    @Test
    @Order(2)
    void findsItAsBefore(IoasidPlatform platform) throws Exception {
        assertFalse(platform.hasBackend("smmu7"), "the backend the first test configured");
        assertNull(platform.configurationAdmin().listConfigurations(
                "(service.factoryPid=ioasid.backend.smmuv3)"), "its configuration");
        assertNull(platform.configurationAdmin().listConfigurations("(service.pid=ioasid.core)"),
                "the core's configuration the first test created");
        assertEquals(Bundle.ACTIVE, platform.bundle("backend.vtd").getState(),
                "the bundle the first test stopped");
        assertFalse(Arrays.stream(context.getBundles()).anyMatch(
                b -> LISTENER.equals(b.getSymbolicName())), "the bundle the first test installed");
    }
}

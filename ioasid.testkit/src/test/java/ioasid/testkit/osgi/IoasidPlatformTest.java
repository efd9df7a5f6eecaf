package ioasid.testkit.osgi;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.lang.reflect.Proxy;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.dto.BackendDTO;

/** The waits and look-ups that need no framework. */
class IoasidPlatformTest {
    private static IommuService listing(String... names) {
        return (IommuService) Proxy.newProxyInstance(IommuService.class.getClassLoader(),
                new Class<?>[] {IommuService.class}, (self, m, args) -> {
                    if (!m.getName().equals("backends")) {
                        throw new UnsupportedOperationException(m.getName());
                    }
                    BackendDTO[] out = new BackendDTO[names.length];
                    for (int i = 0; i < names.length; i++) {
                        out[i] = new BackendDTO();
                        out[i].name = names[i];
                    }
                    return out;
                });
    }

    @Test
    void awaitReturnsOnceTheConditionHolds() {
        AtomicInteger polls = new AtomicInteger();
        IoasidPlatform.await("three polls", () -> polls.incrementAndGet() == 3);
        assertEquals(3, polls.get());
    }

    @Test
    void awaitFailsAfterTheTimeoutNamingWhatItWaitedFor() {
        long t0 = System.nanoTime();
        AssertionError e = assertThrows(AssertionError.class,
                () -> IoasidPlatform.await("nothing", () -> false));
        assertEquals("timed out waiting for nothing", e.getMessage());
        assertEquals(1000, IoasidPlatform.TIMEOUT_MS, "set for these tests by the pom");
        assertTrue((System.nanoTime() - t0) / 1_000_000 >= IoasidPlatform.TIMEOUT_MS);
    }

    @Test
    void backendsAreLookedUpByName() {
        IommuService iommu = listing("smmu0", "dmar0");
        assertTrue(IoasidPlatform.hasBackend(iommu, "dmar0"));
        assertFalse(IoasidPlatform.hasBackend(iommu, "viommu0"));
        assertEquals("dmar0", IoasidPlatform.backend(iommu, "dmar0").name);
        AssertionError e = assertThrows(AssertionError.class,
                () -> IoasidPlatform.backend(iommu, "viommu0"));
        assertEquals("no backend viommu0", e.getMessage());
    }

    @Test
    void theOwnSpaceFilterExcludesHosts() {
        assertEquals("(!(ioasid.role=host))", IoasidPlatform.OWN_SPACE);
        assertEquals("(ioasid.role=host)", IoasidPlatform.HOST_SPACE);
    }
}

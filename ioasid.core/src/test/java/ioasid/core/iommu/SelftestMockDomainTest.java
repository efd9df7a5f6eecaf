package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.ENOENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.DeviceInfo;

/**
 * The kernel's {@code iommufd_mock_domain} fixture ({@code tools/testing/selftests/iommu/iommufd.c},
 * Linux 6.18), translated to the IOMMU core: its replace and HWPT-rotation cases. Rules 44, 46,
 * 105, 107; D18, D20, D23.
 *
 * <p>The fixture: an IOAS and one or two mock devices ({@code one_domain}, {@code two_domains}),
 * each bound to iommufd and attached to the IOAS through an automatic HWPT. Here a mock device is
 * a device of the test backend in its own group, bound means its DMA claimed by the iommufd
 * context ({@code iommu_device_claim_dma_owner} at bind), and "attach to an IOAS" means the
 * IOAS's automatic domain: the second device finds the first one's domain compatible and shares
 * it ({@code iommufd_device_auto_get_domain}). iommufd destroys an automatic HWPT when its last
 * device leaves it; the translation does that by freeing the domain, which then answers ENOENT
 * (D20), as the destroyed HWPT's ID does. The {@code *_hugepage} and {@code *_file} variants
 * differ only in how the test's user memory is backed, which these cases do not touch.
 */
class SelftestMockDomainTest {
    private static final Object ICTX = "iommufd-ctx";

    private final IommufdMock mock = new IommufdMock();

    /** The fixture's state, as FIXTURE_SETUP(iommufd_mock_domain) leaves it. */
    private static final class IommufdMock {
        final IommuFixture fx = new IommuFixture();
        final TestBackend be = fx.bind(new TestBackend("mock", 1 << 20)
                .device("mock0", "g0", 20).device("mock1", "g1", 20));
        /** The IOAS's automatic domain; hwpt_ids[0] and hwpt_ids[1] are both this one. */
        IommuDomain ioas;
        final List<String> stdev = new ArrayList<>();

        void setUp(int mockDomains) {
            ioas = fx.iommu.domainAlloc("mock0", false);
            fx.iommu.map(ioas, 0x10000, 0x80000, 0x1000, Prot.READ); // the IOAS is not empty
            for (int i = 0; i < mockDomains; i++) {
                String dev = "mock" + i;
                fx.iommu.claimDevice(dev, ICTX);
                fx.iommu.attachDevice(ioas, dev);
                stdev.add(dev);
            }
        }

        /** iommufd destroys an automatic HWPT once no device is attached to it. */
        void destroyIfUnused(IommuDomain d) {
            boolean used = false;
            for (var g : fx.iommu.groups()) {
                used |= g.domainId == d.id();
            }
            if (!used) {
                fx.iommu.domainFree(d);
            }
        }

        int domainOf(String dev) {
            int gid = fx.iommu.group(dev).id();
            for (var g : fx.iommu.groups()) {
                if (g.id == gid) {
                    return g.domainId;
                }
            }
            throw new AssertionError("no group " + gid);
        }
    }

    @AfterEach
    void noViolations() {
        assertEquals(List.of(), mock.be.violations, "the core named the wrong old domain");
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}_domain(s)/replace")
    @ValueSource(ints = {1, 2})
    @DisplayName("iommufd_mock_domain/replace: replacing to a new IOAS moves the device; replacing "
            + "to the same IOAS again is a no-op; back to the fixture's IOAS; kernel: 0 each time")
    void replace(int mockDomains) {
        mock.setUp(mockDomains);
        String dev = mock.stdev.get(0);
        IommuDomain newIoas = mock.fx.iommu.domainAlloc(dev, false); // its automatic HWPT
        mock.fx.iommu.replaceDeviceDomain(dev, newIoas);
        assertEquals(newIoas.id(), mock.domainOf(dev));
        var t = mock.fx.probe(dev, 0, 0x10000);
        assertEquals("NOT_MAPPED", t.fault(), "the new IOAS maps nothing");
        assertEquals(newIoas.id(), t.domainId());
        mock.destroyIfUnused(mock.ioas);
        assertEquals(mockDomains == 1, !mock.ioas.live(), "the old HWPT goes with its last device");

        String before = mock.fx.state();
        mock.be.calls.clear();
        mock.fx.iommu.replaceDeviceDomain(dev, newIoas); // the same IOAS again (rule 44)
        assertEquals(before, mock.fx.state());
        assertEquals(List.of(), mock.be.calls, "nothing reaches the backend");

        if (mockDomains == 1) {
            mock.ioas = mock.fx.iommu.domainAlloc(dev, false); // the fixture's IOAS, refilled
        }
        mock.fx.iommu.replaceDeviceDomain(dev, mock.ioas);
        assertEquals(mock.ioas.id(), mock.domainOf(dev));
        mock.fx.iommu.domainFree(newIoas); // test_ioctl_destroy(ioas_id)
        assertFalse(newIoas.live());
    }

    @Test
    @DisplayName("iommufd_mock_domain.one_domain/replace: the HWPT replaced away was destroyed with "
            + "its last device; replacing to it is ENOENT (kernel: ENOENT, D20) and the device "
            + "stays where it is")
    void replaceToDestroyedHwpt() {
        mock.setUp(1);
        IommuDomain old = mock.ioas;
        IommuDomain newIoas = mock.fx.iommu.domainAlloc("mock0", false);
        mock.fx.iommu.replaceDeviceDomain("mock0", newIoas);
        mock.destroyIfUnused(old);
        mock.fx.unchanged(ENOENT, () -> mock.fx.iommu.replaceDeviceDomain("mock0", old));
        mock.fx.unchanged(ENOENT, () -> mock.fx.iommu.replaceGroupDomain(
                mock.fx.iommu.group("mock0"), old));
        assertEquals(newIoas.id(), mock.domainOf("mock0"));
    }

    @Test
    @DisplayName("iommufd_mock_domain.two_domains/replace: device 0 on a new IOAS, then onto "
            + "hwpt_ids[1] twice (the second a no-op) and hwpt_ids[0] (the same shared HWPT, a "
            + "no-op); kernel: 0 each time")
    void replaceOntoSharedHwpt() {
        mock.setUp(2);
        IommuDomain newIoas = mock.fx.iommu.domainAlloc("mock0", false);
        mock.fx.iommu.replaceDeviceDomain("mock0", newIoas);
        assertTrue(mock.ioas.live(), "mock1 keeps the fixture's HWPT alive");
        mock.be.replaces.clear();
        mock.fx.iommu.replaceDeviceDomain("mock0", mock.ioas); // hwpt_ids[1]
        mock.fx.iommu.replaceDeviceDomain("mock0", mock.ioas); // hwpt_ids[1] again
        mock.fx.iommu.replaceDeviceDomain("mock0", mock.ioas); // hwpt_ids[0]: the same HWPT
        assertEquals(1, mock.be.replaces.size(), "one switch, two no-ops: " + mock.be.replaces);
        assertEquals(mock.ioas.id(), mock.domainOf("mock0"));
        assertEquals(0x80000, mock.fx.probe("mock0", 0, 0x10000).physAddr());
        mock.fx.iommu.domainFree(newIoas);
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}_domain(s)/alloc_hwpt")
    @ValueSource(ints = {1, 2})
    @DisplayName("iommufd_mock_domain/alloc_hwpt: HWPT rotation per device: replace to hwpt[0], "
            + "destroy is EBUSY; replace to the nesting parent hwpt[1], destroy is EBUSY; back to "
            + "the IOAS, hwpt[1] is destroyed; kernel: 0, EBUSY, 0, EBUSY, 0, 0")
    void allocHwptRotation(int mockDomains) {
        mock.setUp(mockDomains);
        for (String dev : mock.stdev) {
            IommuDomain hwpt0 = mock.fx.iommu.domainAlloc(dev, false);
            IommuDomain hwpt1 = mock.fx.iommu.domainAlloc(dev, true); // NEST_PARENT
            mock.fx.iommu.replaceDeviceDomain(dev, hwpt0);
            mock.fx.unchanged(EBUSY, () -> mock.fx.iommu.domainFree(hwpt0));
            mock.fx.iommu.replaceDeviceDomain(dev, hwpt1); // caller domain to caller domain
            mock.fx.unchanged(EBUSY, () -> mock.fx.iommu.domainFree(hwpt1));
            mock.fx.iommu.replaceDeviceDomain(dev, mock.ioas);
            mock.fx.iommu.domainFree(hwpt1);
            assertTrue(hwpt0.live(), "hwpt[0] is left for the next step");
            mock.fx.iommu.domainFree(hwpt0);
            assertEquals(mock.ioas.id(), mock.domainOf(dev));
        }
    }

    @ParameterizedTest(name = "iommufd_mock_domain.{0}_domain(s)/alloc_hwpt (mock domain on hwpt)")
    @ValueSource(ints = {1, 2})
    @DisplayName("iommufd_mock_domain/alloc_hwpt: a new mock device attached straight to hwpt[0], "
            + "then destroyed, and hwpt[0] destroyed after it; kernel: 0, 0, 0")
    void allocHwptDirectAttach(int mockDomains) {
        mock.setUp(mockDomains);
        IommuDomain hwpt0 = mock.fx.iommu.domainAlloc("mock0", false);
        mock.be.devices.add(new DeviceInfo("mock2", "g2", 2, 20)); // test_cmd_mock_domain(hwpt)
        mock.fx.update(mock.be);
        mock.fx.iommu.claimDevice("mock2", ICTX);
        mock.fx.iommu.attachDevice(hwpt0, "mock2");
        mock.fx.unchanged(EBUSY, () -> mock.fx.iommu.domainFree(hwpt0));
        mock.fx.iommu.detachDevice(hwpt0, "mock2"); // test_ioctl_destroy(stddev_id)
        mock.fx.iommu.releaseDevice("mock2");
        mock.be.devices.removeIf(d -> d.name().equals("mock2"));
        mock.fx.update(mock.be);
        mock.fx.iommu.domainFree(hwpt0);
        assertFalse(hwpt0.live());
    }
}

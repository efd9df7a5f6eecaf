package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.EOPNOTSUPP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Vdevice;
import ioasid.api.iommu.Viommu;

/**
 * The kernel's {@code iommufd_viommu} fixture ({@code tools/testing/selftests/iommu/iommufd.c},
 * Linux 6.18), translated to the IOMMU core: the vIOMMU and vDevice negative cases and the
 * tombstone. Rules 89-94, 107, 108; D20, D22, D24.
 *
 * <p>The fixture, variant {@code mock_viommu}: a mock device bound to iommufd (its DMA claimed)
 * and attached to an IOAS, a nesting-parent HWPT on that IOAS, and a vIOMMU on the parent. The
 * variant {@code no_viommu} has the IOAS only: every ID the tests pass is 0, which names no
 * object. A nested HWPT on the vIOMMU (the fixture's last step) has no counterpart in the model;
 * where the kernel case relies on it as the vIOMMU's user, a vDevice stands in.
 */
class SelftestViommuTest {
    private static final Object ICTX = "iommufd-ctx";

    private final IommuFixture fx = new IommuFixture();
    private final TestBackend be = fx.bind(new TestBackend("mock", 1 << 20)
            .device("mock0", "g0", 20));
    private IommuDomain ioas;
    private IommuDomain hwpt;
    private Viommu viommu;

    /** FIXTURE_SETUP(iommufd_viommu), variant mock_viommu. */
    private void mockViommu() {
        fx.iommu.claimDevice("mock0", ICTX);
        ioas = fx.iommu.domainAlloc("mock0", false);
        fx.iommu.attachDevice(ioas, "mock0");
        hwpt = fx.iommu.domainAlloc("mock0", true); // IOMMU_HWPT_ALLOC_NEST_PARENT
        viommu = fx.iommu.viommuAlloc("mock0", hwpt); // takes a reference on the parent
    }

    @Test
    @DisplayName("iommufd_viommu.mock_viommu/viommu_auto_destroy: closing with the device, its "
            + "parent HWPT and the vIOMMU alive leaves nothing behind; kernel: no leak, no error")
    void autoDestroyMockViommu() {
        mockViommu();
        fx.iommu.close();
        assertEquals(0, fx.iommu.viommus().length);
        assertFalse(viommu.live());
        assertFalse(hwpt.live());
        assertEquals(List.of(), be.violations, "no call into the backend once it left");
    }

    @Test
    @DisplayName("iommufd_viommu.no_viommu/viommu_auto_destroy: closing with only the IOAS "
            + "leaves nothing behind; kernel: no leak, no error")
    void autoDestroyNoViommu() {
        fx.iommu.close();
        assertEquals(0, fx.iommu.viommus().length);
        assertEquals(0, fx.iommu.domains().length);
    }

    @Test
    @DisplayName("iommufd_viommu.mock_viommu/viommu_negative_tests: a parent HWPT that does not "
            + "exist (ID 0; here a freed one) is ENOENT (kernel: ENOENT, D20; was ENODEV)")
    void viommuAllocUnknownParent() {
        mockViommu();
        IommuDomain gone = fx.iommu.domainAlloc("mock0", true);
        fx.iommu.domainFree(gone);
        fx.unchanged(ENOENT, () -> fx.iommu.viommuAlloc("mock0", gone));
    }

    @Test
    @DisplayName("iommufd_viommu.mock_viommu/viommu_negative_tests: a HWPT that is not a nesting "
            + "parent is EINVAL; a vIOMMU the driver does not offer is EOPNOTSUPP (kernel: "
            + "EINVAL, EOPNOTSUPP)")
    void viommuAllocIncompatible() {
        mockViommu();
        IommuDomain plain = fx.iommu.domainAlloc("mock0", false);
        fx.unchanged(EINVAL, () -> fx.iommu.viommuAlloc("mock0", plain));
        fx.iommu.domainFree(plain); // test_ioctl_destroy(hwpt_id)
        // the kernel asks for type 0xdead; the model's vIOMMU has no type, so the driver that
        // offers none stands for the type it does not know (the same errno, rule 89)
        be.viommuSupported = false;
        fx.unchanged(EOPNOTSUPP, () -> fx.iommu.viommuAlloc("mock0", hwpt));
    }

    @Test
    @DisplayName("iommufd_viommu.mock_viommu/viommu_negative_tests: the parent HWPT held by the "
            + "vIOMMU and the vIOMMU held by its user cannot be destroyed (kernel: EBUSY, EBUSY)")
    void viommuObjectsInUse() {
        mockViommu();
        fx.unchanged(EBUSY, () -> fx.iommu.domainFree(hwpt));
        fx.iommu.vdeviceAlloc(viommu, "mock0", 0x99); // the vIOMMU's user (the nested HWPT's part)
        fx.unchanged(EBUSY, () -> fx.iommu.viommuDestroy(viommu));
    }

    @Test
    @DisplayName("iommufd_viommu.no_viommu/viommu_negative_tests: a vIOMMU for a device that does "
            + "not exist; kernel: ENOENT (device ID 0), the core: ENODEV for an unknown device "
            + "name (D24)")
    void viommuAllocNoDevice() {
        IommuDomain parent = fx.iommu.domainAlloc("mock0", true);
        fx.unchanged(ENODEV, () -> fx.iommu.viommuAlloc("no-such-device", parent));
    }

    @Test
    @DisplayName("iommufd_viommu.mock_viommu/vdevice_alloc: a vDevice at 0x99, a second one of "
            + "the device is EEXIST, destroy, then one at 0x88; kernel: 0, EEXIST, 0, 0, 0")
    void vdeviceAlloc() {
        mockViommu();
        Vdevice v99 = fx.iommu.vdeviceAlloc(viommu, "mock0", 0x99);
        fx.unchanged(EEXIST, () -> fx.iommu.vdeviceAlloc(viommu, "mock0", 0x99));
        fx.unchanged(EEXIST, () -> fx.iommu.vdeviceAlloc(viommu, "mock0", 0x88));
        fx.iommu.vdeviceDestroy(v99);
        Vdevice v88 = fx.iommu.vdeviceAlloc(viommu, "mock0", 0x88);
        assertEquals("mock0", fx.iommu.vdeviceFind(viommu, 0x88));
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceFind(viommu, 0x99));
        fx.iommu.vdeviceDestroy(v88);
        assertTrue(be.calls.containsAll(List.of("vdev mock0=153", "vdev-destroy mock0",
                "vdev mock0=136")), be.calls.toString());
    }

    @Test
    @DisplayName("iommufd_viommu.no_viommu/vdevice_alloc: a vDevice on a vIOMMU that does not "
            + "exist (ID 0; here a destroyed one) is ENOENT (kernel: ENOENT, D20; was EINVAL)")
    void vdeviceAllocNoViommu() {
        mockViommu();
        fx.iommu.viommuDestroy(viommu);
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceAlloc(viommu, "mock0", 0x99));
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceFind(viommu, 0x99));
        fx.unchanged(ENOENT, () -> fx.iommu.viommuTeardown(viommu));
    }

    @Test
    @DisplayName("iommufd_viommu.mock_viommu/vdevice_tombstone: a vDevice at 0x99, then its device "
            + "is destroyed; destroying the vDevice is ENOENT (kernel: ENOENT, rule 108, D22)")
    void vdeviceTombstone() {
        mockViommu();
        Vdevice vd = fx.iommu.vdeviceAlloc(viommu, "mock0", 0x99);
        be.devices.clear(); // test_ioctl_destroy(stdev_id): the mock device goes away
        fx.update(be);
        assertFalse(vd.live());
        assertTrue(vd.toString().contains("tombstone"), vd.toString());
        assertTrue(be.calls.contains("vdev-destroy mock0"), "the driver's hook ran");
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceDestroy(vd));
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceFind(viommu, 0x99));
        fx.iommu.viommuDestroy(viommu); // the tombstone holds nothing
        fx.iommu.domainFree(hwpt);
    }
}

package ioasid.core.iommufd;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.EnumSource;

import ioasid.api.iommufd.Iommufd;
import ioasid.api.iommufd.ObjectType;

/**
 * The kernel's {@code FIXTURE(iommufd_viommu)} cases at the iommufd object layer, run for its
 * variants {@code no_viommu} and {@code mock_viommu}, and the plain {@code FIXTURE(iommufd)}
 * cases about the object table. The fixture's nested HWPT is not modelled (nested domains are
 * not), so where the kernel's vIOMMU is held by that nested HWPT, a vDevice holds it here. Rules
 * 89-92, 120, 127, 129.
 */
class ViommuSelftestTest {
    /** {@code FIXTURE_VARIANT(iommufd_viommu)}. */
    enum Variant {
        NO_VIOMMU, MOCK_VIOMMU;

        @Override
        public String toString() {
            return name().toLowerCase();
        }
    }

    private IommufdFixture fx;
    private Iommufd fd;
    private int ioasId;
    private int deviceId;
    private int hwptId;
    private int viommuId;

    /** {@code FIXTURE_SETUP(iommufd_viommu)} without the nested HWPT. */
    private void setUp(Variant v) {
        fx = new IommufdFixture();
        fd = fx.fd;
        ioasId = fd.ioasAlloc();
        if (v == Variant.MOCK_VIOMMU) {
            deviceId = fx.mockDomain(ioasId)[0];
            hwptId = fd.hwptAlloc(deviceId, ioasId, Iommufd.HWPT_ALLOC_NEST_PARENT);
            viommuId = fd.viommuAlloc(deviceId, hwptId);
        }
    }

    @AfterEach
    void tearDown() {
        if (fx != null) {
            fx.close();
        }
    }

    @ParameterizedTest(name = "iommufd_viommu.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_viommu/viommu_auto_destroy: closing frees the vIOMMU, its parent HWPT "
            + "and the device; no vIOMMU is left in the core (rules 92, 120)")
    void viommuAutoDestroy(Variant v) {
        setUp(v);
        fd.close();
        assertEquals(0, fx.iommu.viommus().length, Arrays.toString(fx.iommu.viommus()));
        assertTrue(Arrays.stream(fx.iommu.domains()).noneMatch(d -> d.role.equals("caller")),
                Arrays.toString(fx.iommu.domains()));
        assertTrue(Arrays.stream(fx.iommu.groups()).allMatch(g -> g.owner == null));
        ioasid.testkit.Expect.errno(ioasid.api.Errno.ENODEV, fd::objects);
    }

    @ParameterizedTest(name = "iommufd_viommu.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_viommu/viommu_negative_tests: HWPT 0 ENOENT; a HWPT that is not a "
            + "nesting parent EINVAL; the parent HWPT under a vIOMMU and a vIOMMU with a user "
            + "EBUSY; without a device ENOENT (rules 89, 92, 120, 127)")
    void viommuNegativeTests(Variant v) {
        setUp(v);
        if (deviceId != 0) {
            fx.unchanged(ENOENT, () -> fd.viommuAlloc(deviceId, 0));
            int plain = fd.hwptAlloc(deviceId, ioasId, 0);
            fx.unchanged(EINVAL, () -> fd.viommuAlloc(deviceId, plain));
            fd.destroy(plain);
            fx.unchanged(EBUSY, () -> fd.destroy(hwptId));
            fd.vdeviceAlloc(viommuId, deviceId, 0x99);
            fx.unchanged(EBUSY, () -> fd.destroy(viommuId));
        } else {
            fx.unchanged(ENOENT, () -> fd.viommuAlloc(deviceId, hwptId));
        }
    }

    @ParameterizedTest(name = "iommufd_viommu.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_viommu/vdevice_alloc, its vDevice part: a device's second vDevice "
            + "EEXIST; after destroy, virtual ID 0x88 works; without a vIOMMU ENOENT (rules 90, "
            + "91, 120)")
    void vdeviceAlloc(Variant v) {
        setUp(v);
        if (deviceId != 0) {
            int vdev = fd.vdeviceAlloc(viommuId, deviceId, 0x99);
            fx.unchanged(EEXIST, () -> fd.vdeviceAlloc(viommuId, deviceId, 0x99));
            fd.destroy(vdev);
            int again = fd.vdeviceAlloc(viommuId, deviceId, 0x88);
            assertEquals(0x88, fx.object(again).virtId);
            assertEquals(viommuId, fx.object(again).viommuId);
            fd.destroy(again);
            fd.destroy(viommuId);
            fd.destroy(hwptId);
        } else {
            fx.unchanged(ENOENT, () -> fd.vdeviceAlloc(viommuId, deviceId, 0x99));
        }
    }

    @ParameterizedTest(name = "iommufd_viommu.{0}")
    @EnumSource(Variant.class)
    @DisplayName("iommufd_viommu/vdevice_tombstone: once its device is unbound, destroying the "
            + "vDevice is ENOENT, and its ID is not handed out again (rule 129)")
    void vdeviceTombstone(Variant v) {
        setUp(v);
        if (deviceId == 0) {
            return; // the kernel skips no_viommu
        }
        int vdev = fd.vdeviceAlloc(viommuId, deviceId, 0x99);
        fd.deviceUnbind(deviceId);
        fx.unchanged(ENOENT, () -> fd.destroy(vdev));
        assertFalse(fx.exists(vdev));
        assertEquals(0, fx.object(viommuId).users, "the vIOMMU lost its vDevice");
        for (int i = 0; i < 4; i++) {
            assertNotEquals(vdev, fd.ioasAlloc());
        }
    }

    @Test
    @DisplayName("iommufd/simple_close: a context opened and closed leaves nothing (rule 120)")
    void simpleClose() {
        fx = new IommufdFixture();
        fx.fd.close();
        assertEquals(0, fx.iommu.viommus().length);
        assertTrue(Arrays.stream(fx.iommu.groups()).allMatch(g -> g.owner == null));
    }

    @Test
    @DisplayName("iommufd/cmd_fail, its model part: destroying object 0 is ENOENT (the bad "
            + "pointer and unknown ioctl are ABI checks) (rule 120)")
    void cmdFail() {
        fx = new IommufdFixture();
        fx.unchanged(ENOENT, () -> fx.fd.destroy(0));
        assertEquals(ObjectType.IOAS.name(), fx.object(fx.fd.ioasAlloc()).type);
    }
}

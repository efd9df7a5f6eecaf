package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOMEM;
import static ioasid.api.Errno.EOPNOTSUPP;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Vdevice;
import ioasid.api.iommu.Viommu;

/** vIOMMUs and virtual device IDs: rules 89-94; known bug 13. */
class ViommuTest {
    private final IommuFixture fx = new IommuFixture();
    private final TestBackend be = fx.bind(new TestBackend("s0", 256)
            .device("a", "ga", 8).device("b", "gb", 8).device("c", "gc", 8));
    private final IommuDomain parent = fx.iommu.domainAlloc("a", true);

    @Test
    @DisplayName("rule 89: a vIOMMU sits on a nesting parent, which it keeps from being freed")
    void alloc() {
        Viommu v = fx.iommu.viommuAlloc("a", parent);
        assertTrue(v.live());
        assertEquals(parent.id(), v.parent().id());
        fx.unchanged(EBUSY, () -> fx.iommu.domainFree(parent));
        assertEquals(1, fx.iommu.viommus().length);
        fx.iommu.viommuDestroy(v);
        fx.iommu.domainFree(parent);
    }

    @Test
    @DisplayName("rule 89: EINVAL without a nesting parent or on another IOMMU; EOPNOTSUPP without support")
    void allocErrors() {
        IommuDomain plain = fx.iommu.domainAlloc("a", false);
        fx.unchanged(EINVAL, () -> fx.iommu.viommuAlloc("a", plain));
        fx.unchanged(ENODEV, () -> fx.iommu.viommuAlloc("zz", parent));
        TestBackend other = fx.bind(new TestBackend("s1", 16).device("z", "z", 4));
        fx.unchanged(EINVAL, () -> fx.iommu.viommuAlloc("z", parent));
        other.viommuSupported = false;
        IommuDomain np = fx.iommu.domainAlloc("z", true);
        fx.unchanged(EOPNOTSUPP, () -> fx.iommu.viommuAlloc("z", np));
    }

    @Test
    @DisplayName("rule 90: a vDevice binds device and virtual ID both ways; lookups find either side")
    void vdevice() {
        Viommu v = fx.iommu.viommuAlloc("a", parent);
        Vdevice vd = fx.iommu.vdeviceAlloc(v, "b", 0x42);
        assertEquals("b", fx.iommu.vdeviceFind(v, 0x42));
        assertEquals(0x42, fx.iommu.vdeviceId(v, "b"));
        assertEquals("b", vd.device());
        assertTrue(be.calls.contains("vdev b=66"));
        Vdevice big = fx.iommu.vdeviceAlloc(v, "c", -1L); // u64 max
        assertEquals("c", fx.iommu.vdeviceFind(v, 0xFFFF_FFFF_FFFF_FFFFL));
        assertEquals("[42=b, ffffffffffffffff=c]",
                java.util.Arrays.toString(fx.iommu.viommus()[0].vdevices));
        assertTrue(big.live());
    }

    @Test
    @DisplayName("rule 93: lookups answer only for this vIOMMU's live vDevices, else ENOENT")
    void lookups() {
        Viommu v = fx.iommu.viommuAlloc("a", parent);
        Viommu w = fx.iommu.viommuAlloc("a", parent);
        Vdevice vb = fx.iommu.vdeviceAlloc(v, "b", 7);
        fx.iommu.vdeviceAlloc(w, "c", 9);
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceFind(v, 8));
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceFind(v, 9)); // w's ID
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceId(v, "c")); // bound in w only
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceId(v, "a")); // no vDevice at all
        assertEquals("c", fx.iommu.vdeviceFind(w, 9));
        fx.iommu.vdeviceDestroy(vb);
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceFind(v, 7));
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceId(v, "b"));
    }

    @Test
    @DisplayName("rule 90: EEXIST for a device with a vDevice or a taken virtual ID; EINVAL across "
            + "IOMMUs; ENOENT for a device going away")
    void vdeviceErrors() {
        Viommu v = fx.iommu.viommuAlloc("a", parent);
        fx.iommu.vdeviceAlloc(v, "b", 1);
        fx.unchanged(EEXIST, () -> fx.iommu.vdeviceAlloc(v, "b", 2));
        fx.unchanged(EEXIST, () -> fx.iommu.vdeviceAlloc(v, "c", 1));
        TestBackend other = fx.bind(new TestBackend("s1", 16).device("z", "z", 4));
        fx.unchanged(EINVAL, () -> fx.iommu.vdeviceAlloc(v, "z", 3));
        fx.unchanged(ENODEV, () -> fx.iommu.vdeviceAlloc(v, "nope", 3));
        fx.unbind(other);
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceAlloc(v, "z", 3));
    }

    @Test
    @DisplayName("known bug 13: a failing vdevice_init gives back the slot and takes nothing")
    void initFailure() {
        Viommu v = fx.iommu.viommuAlloc("a", parent);
        be.failVdevice = true;
        fx.unchanged(ENOMEM, () -> fx.iommu.vdeviceAlloc(v, "b", 7));
        be.failVdevice = false;
        fx.iommu.vdeviceAlloc(v, "b", 7); // the slot and the device are free again
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceFind(v, 8));
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceId(v, "c"));
    }

    @Test
    @DisplayName("rules 91, 92: destroy runs the driver hook and frees the ID; a vIOMMU with vDevices "
            + "is EBUSY; a destroyed vDevice or vIOMMU is ENOENT from then on (D20)")
    void destroy() {
        Viommu v = fx.iommu.viommuAlloc("a", parent);
        Vdevice vd = fx.iommu.vdeviceAlloc(v, "b", 5);
        fx.unchanged(EBUSY, () -> fx.iommu.viommuDestroy(v));
        fx.iommu.vdeviceDestroy(vd);
        assertTrue(be.calls.contains("vdev-destroy b"));
        assertFalse(vd.live());
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceDestroy(vd)); // D20: was EINVAL
        fx.iommu.vdeviceAlloc(v, "b", 5); // both directions free again
        fx.iommu.vdeviceDestroy(fx.iommu.vdeviceAlloc(v, "c", 6));
        fx.iommu.viommuTeardown(v);
        assertFalse(v.live());
        fx.unchanged(ENOENT, () -> fx.iommu.viommuDestroy(v)); // D20: was EINVAL
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceAlloc(v, "c", 9)); // D20: was EINVAL
        fx.unchanged(EINVAL, () -> fx.iommu.vdeviceDestroy(null));
        fx.unchanged(EINVAL, () -> fx.iommu.viommuDestroy(null));
        assertTrue(be.calls.contains("viommu-destroy"));
    }

    @Test
    @DisplayName("rule 94: teardown works from the vIOMMU side and from device unbind")
    void cleanupBothWays() {
        Viommu v = fx.iommu.viommuAlloc("a", parent);
        Vdevice vb = fx.iommu.vdeviceAlloc(v, "b", 1);
        Vdevice vc = fx.iommu.vdeviceAlloc(v, "c", 2);
        be.devices.removeIf(d -> d.name().equals("c")); // the device unbinds
        fx.update(be);
        assertFalse(vc.live());
        assertTrue(be.calls.contains("vdev-destroy c"));
        fx.unchanged(ENOENT, () -> fx.iommu.vdeviceFind(v, 2));
        fx.iommu.viommuTeardown(v); // the vIOMMU goes with its remaining vDevice
        assertFalse(vb.live());
        assertEquals(0, fx.iommu.viommus().length);
    }
}

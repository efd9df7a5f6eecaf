package ioasid.backend.vtd.impl;

import static ioasid.backend.vtd.impl.VtdFixture.GPU;
import static ioasid.backend.vtd.impl.VtdFixture.GPU_RID;
import static ioasid.backend.vtd.impl.VtdFixture.NIC;
import static ioasid.backend.vtd.impl.VtdFixture.NIC_RID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.testkit.Expect;

/** vIOMMUs on nesting parents (rules 89-94) and the error paths of PASID calls (D2). */
class ViommuAndErrorsTest {

    @Test
    @DisplayName("rule 89: a vIOMMU needs ECAP.NEST (EOPNOTSUPP) and a nesting-parent domain "
            + "(EINVAL)")
    void viommuAllocRules() {
        VtdFixture plain = new VtdFixture(VtdFixture.bare().build());
        VtdDomain d = plain.paging();
        plain.unchanged(Errno.EOPNOTSUPP, () -> plain.backend.viommuAlloc(d));
        VtdFixture nest = new VtdFixture(VtdFixture.bare().nesting(true).build());
        VtdDomain notParent = nest.paging();
        nest.unchanged(Errno.EINVAL, () -> nest.backend.viommuAlloc(notParent));
        VtdDomain parent = (VtdDomain) nest.backend.domainAlloc(DomainType.UNMANAGED, true);
        assertTrue(parent.nestingParent());
        BackendViommu v = nest.backend.viommuAlloc(parent);
        assertSame(parent, ((VtdViommu) v).parent());
        nest.unchanged(Errno.EINVAL, () -> nest.backend.viommuAlloc(plain.paging()));
    }

    @Test
    @DisplayName("rules 90, 91: vDevices fill the virtual-to-physical RID table; a taken virtual "
            + "RID or a second vDevice of a device is EEXIST, a virtual ID past 16 bits EINVAL; "
            + "destroy frees the slot")
    void vdevices() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().nesting(true).build());
        VtdDomain parent = (VtdDomain) r.backend.domainAlloc(DomainType.UNMANAGED, true);
        VtdViommu v = (VtdViommu) r.backend.viommuAlloc(parent);
        BackendVdevice gpu = v.vdeviceInit(GPU, 0x0800);
        v.vdeviceInit(NIC, 0x0808);
        assertEquals(GPU_RID, v.physicalRid(0x0800));
        assertEquals(NIC_RID, v.physicalRid(0x0808));
        assertEquals(-1, v.physicalRid(0x0810));
        Expect.errno(Errno.EEXIST, () -> v.vdeviceInit(VtdFixture.ACC, 0x0800));
        Expect.errno(Errno.EEXIST, () -> v.vdeviceInit(GPU, 0x0900));
        Expect.errno(Errno.EINVAL, () -> v.vdeviceInit(VtdFixture.ACC, 0x10000));
        Expect.errno(Errno.EINVAL, () -> v.vdeviceInit(VtdFixture.ACC, -1));
        Expect.errno(Errno.ENODEV, () -> v.vdeviceInit("0000:07:00.0", 0x0700));
        assertEquals(2, v.vdevices());
        gpu.destroy();
        gpu.destroy();
        assertEquals(-1, v.physicalRid(0x0800));
        v.vdeviceInit(VtdFixture.ACC, 0x0800);
        assertEquals(VtdFixture.ACC_RID, v.physicalRid(0x0800));
        v.destroy();
        assertEquals(0, v.vdevices());
        Expect.errno(Errno.EINVAL, () -> v.vdeviceInit(GPU, 0x0100));
    }

    @Test
    @DisplayName("rule 92, known bug 1: a domain carrying a vIOMMU cannot be freed (EBUSY) until "
            + "the vIOMMU is destroyed")
    void viommuHoldsItsParent() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().nesting(true).build());
        VtdDomain parent = (VtdDomain) r.backend.domainAlloc(DomainType.UNMANAGED, true);
        BackendViommu v = r.backend.viommuAlloc(parent);
        r.unchanged(Errno.EBUSY, parent::free);
        v.destroy();
        parent.free();
        assertTrue(parent.freed());
    }

    @Test
    @DisplayName("D2, rule 39: PASID calls with a foreign, freed or wrong domain are EINVAL and "
            + "change nothing")
    void pasidCallErrors() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        VtdDomain b = r.paging();
        r.backend.attachDev(GPU, a);
        r.backend.setDevPasid(GPU, 5, a);
        r.unchanged(Errno.EINVAL, () -> r.backend.removeDevPasid(GPU, 5, b));
        VtdDomain foreign = new VtdFixture(VtdFixture.bare().build()).paging();
        r.unchanged(Errno.EINVAL, () -> r.backend.setDevPasid(GPU, 6, foreign));
        r.unchanged(Errno.EINVAL, () -> r.backend.removeDevPasid(GPU, 5, foreign));
        r.unchanged(Errno.EINVAL, () -> r.backend.setDevPasid(GPU, 6, null));
        b.free();
        r.unchanged(Errno.EINVAL, () -> r.backend.setDevPasid(GPU, 6, b));
        assertSame(a, r.driver.domainOf(GPU, 5));
        r.backend.removeDevPasid(GPU, 5, a);
        assertEquals(1, a.attachments.size(), "only RID_PASID left");
    }
}

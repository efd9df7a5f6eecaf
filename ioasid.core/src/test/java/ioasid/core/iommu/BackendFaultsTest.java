package ioasid.core.iommu;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.Map;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.spi.BackendDomain;

/** The IOMMU fault counters of each backend (BackendFaults rules 1-3). */
class BackendFaultsTest {
    private final IommuFixture fx = new IommuFixture();

    private BackendDTO dto(String name) {
        for (BackendDTO b : fx.iommu.backends()) {
            if (b.name.equals(name)) {
                return b;
            }
        }
        throw new AssertionError("no backend " + name);
    }

    private void counts(String name, long translation, long driver) {
        BackendDTO b = dto(name);
        assertEquals(Map.of("translation", translation, "driver", driver), b.faultsByKind);
        assertEquals(translation + driver, b.faults);
    }

    @Test
    @DisplayName("rule 1: a probe the hardware faults counts once per probe, on its own backend; "
            + "a translated probe and one of a departed backend's device do not")
    void translationFaults() {
        fx.bind(new TestBackend("smmu0", 64).device("a", "a", 6));
        TestBackend other = fx.bind(new TestBackend("dmar0", 64).device("b", "b", 6));
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachGroup(d, fx.iommu.group("a"));
        fx.iommu.map(d, 0x1000, 0x5000, 0x1000, Prot.READ);
        fx.probe("a", 0, 0x1000);
        counts("smmu0", 0, 0);
        fx.probe("a", 0, 0x9000);
        fx.probe("a", 0, 0xa000);
        counts("smmu0", 2, 0);
        counts("dmar0", 0, 0);
        fx.unbind(other);
        fx.probe("b", 0, 0x1000); // NO_IOMMU: no hardware saw it
        fx.bind(other);
        counts("dmar0", 0, 0);
    }

    @Test
    @DisplayName("rule 2: typed refusals are the caller's; an untyped throw is the driver's, "
            + "passed on as EIO")
    void driverFaultsPassedOn() {
        TestBackend be = fx.bind(new TestBackend("smmu0", 64) {
            @Override
            public synchronized void attachDev(String device, BackendDomain domain) {
                if (device.equals("c")) {
                    throw new IllegalStateException("model bug");
                }
                super.attachDev(device, domain);
            }
        }.device("a", "a", 6).device("c", "c", 6));
        counts("smmu0", 0, 1); // c's default domain would not attach at probe (rule 45)
        be.failReplace.add("a");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.unchanged(Errno.ENOMEM, () -> fx.iommu.attachGroup(d, fx.iommu.group("a")));
        counts("smmu0", 0, 1);
        fx.iommu.setDefaultDomainType(fx.iommu.group("c"), DomainType.DMA, true);
        IommuDomain dc = fx.iommu.domainAlloc("c", false);
        IoasidException e = assertThrows(IoasidException.class,
                () -> fx.iommu.attachGroup(dc, fx.iommu.group("c")));
        assertEquals(Errno.EIO, e.errno());
        counts("smmu0", 0, 2);
    }

    @Test
    @DisplayName("rule 2: a failure the core can only log counts; the counters outlive a "
            + "departure and go on when the backend returns")
    void loggedFaultsAndHotSwap() {
        TestBackend be = fx.bind(new TestBackend("smmu0", 1 << 10) {
            @Override
            public synchronized void removeDevPasid(String device, int pasid,
                    BackendDomain domain) {
                super.removeDevPasid(device, pasid, domain);
                throw new IoasidException(Errno.EBUSY, "invalidation refused");
            }
        }.device("a", "a", 8));
        IoasidHandle pasid = fx.iommu.allocGlobalPasid("a");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachDevicePasid(d, "a", pasid);
        fx.iommu.detachDevicePasid(d, "a", pasid); // logged, the attachment forgotten all the same
        counts("smmu0", 0, 1);
        fx.probe("a", 0, 0x7000);
        counts("smmu0", 1, 1);
        fx.unbind(be);
        assertEquals(0, fx.iommu.backends().length);
        fx.bind(be);
        counts("smmu0", 1, 1);
    }

    @Test
    @DisplayName("a refused configuration is the operator's: FAILED, but no fault")
    void refusedIsNoFault() {
        TestBackend be = new TestBackend("dmar9", 64).device("a", "a", 6);
        be.failure = "pss=99 is not in [0, 19]";
        fx.bind(be);
        assertEquals("FAILED", dto("dmar9").state);
        counts("dmar9", 0, 0);
    }

    @Test
    @DisplayName("BackendOps: attaches per device and PASID, map and unmap calls, kept by name")
    void operationCounts() {
        TestBackend be = fx.bind(new TestBackend("smmu0", 1 << 10).device("a", "g", 8)
                .device("b", "g", 8));
        BackendDTO b = dto("smmu0");
        assertEquals(2, b.attaches, "both devices on the default domain at probe");
        IommuDomain d = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachGroup(d, fx.iommu.group("a"));
        fx.iommu.map(d, 0x1000, 0x5000, 0x2000, Prot.READ);
        fx.iommu.map(d, 0x8000, 0x5000, 0x1000, Prot.READ);
        fx.unchanged(Errno.EINVAL, () -> fx.iommu.map(d, 0x8001, 0x5000, 0x1000, Prot.READ));
        fx.iommu.unmap(d, 0x1000, 0x2000);
        IoasidHandle pasid = fx.iommu.allocGlobalPasid("a");
        IommuDomain pd = fx.iommu.domainAlloc("a", false);
        fx.iommu.attachDevicePasid(pd, "a", pasid);
        b = dto("smmu0");
        assertEquals(2 + 2 + 2, b.attaches, "the group's two devices, then its PASID on both");
        assertEquals(2, b.maps);
        assertEquals(1, b.unmaps);
        fx.unbind(be);
        fx.bind(be);
        b = dto("smmu0");
        assertEquals(2, b.maps, "kept across a departure");
        assertEquals(8, b.attaches, "and the return puts both devices back");
    }
}

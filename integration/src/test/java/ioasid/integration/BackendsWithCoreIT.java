package ioasid.integration;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuGroup;
import ioasid.api.iommu.PrivatePasid;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.SvaHandle;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.Viommu;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.spi.IoasidListener;
import ioasid.backend.smmuv3.impl.Smmuv3Backend;
import ioasid.backend.virtio.impl.VirtioIommuBackend;
import ioasid.backend.vtd.impl.VtdBackend;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;
import ioasid.testkit.ComponentConfig;

/**
 * The IOMMU core over the three real backends, wired as SCR would: the backend contract holds
 * end to end, and the hardware models answer the core's probes (D16-D18, rules 38, 44, 57-58).
 */
class BackendsWithCoreIT {
    private final IoasidCore ioasid = new IoasidCore(20, 10_000);
    private final IommuCore iommu = new IommuCore(ioasid, DomainType.DMA_FQ, 4096);
    private final Map<IommuBackend, Map<String, Object>> props = new HashMap<>();
    private long nextId = 1;

    private final IommuBackend smmu = bind(new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class,
            Map.of("ioasid_iommu_name", "smmu0", "devices", new String[] {
                "0000:00:01.0;sid=0x8;pasid=16", "0000:00:02.0;sid=0x10;pasid=16"}))));
    private final IommuBackend vtd = bind(new VtdBackend(null, ComponentConfig.of(VtdBackend.Config.class,
            Map.of("ioasid_iommu_name", "dmar0", "nesting", true, "devices", new String[] {
                "0000:01:00.0;pasid=20", "0000:02:00.0;pasid=20"})), null));
    private final IommuBackend virtio = bind(new VirtioIommuBackend(ComponentConfig.of(
            VirtioIommuBackend.Config.class, Map.of("ioasid_iommu_name", "viommu0",
                    "devices", new String[] {"ep1;sid=1"})), null));

    BackendsWithCoreIT() {
        Map<String, Object> lp = new HashMap<>();
        lp.put(Constants.SERVICE_ID, 999L);
        lp.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU);
        lp.put(IoasidListener.EVENTS, "FREE");
        ioasid.bindListener(iommu, lp);
    }

    private IommuBackend bind(IommuBackend be) {
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, nextId++);
        p.put(IommuBackend.NAME, be.toString().contains("virtio") ? "viommu0" : null);
        props.put(be, p);
        return be;
    }

    private void start() {
        for (Map.Entry<IommuBackend, Map<String, Object>> e : props.entrySet()) {
            Map<String, Object> p = new HashMap<>(e.getValue());
            p.put(IommuBackend.NAME, name(e.getKey()));
            e.setValue(p);
            iommu.bindBackend(e.getKey(), p);
        }
    }

    private String name(IommuBackend be) {
        return be == smmu ? "smmu0" : be == vtd ? "dmar0" : "viommu0";
    }

    private static String dev(String backend) {
        switch (backend) {
            case "smmu0":
                return "0000:00:01.0";
            case "dmar0":
                return "0000:01:00.0";
            default:
                return "ep1";
        }
    }

    /** A process address space for SVA. */
    static final class Mm implements ProcessAddressSpace {
        final Map<Long, Long> pages = new ConcurrentHashMap<>();

        @Override
        public long translate(long va, Access access) {
            Long pa = pages.get(va & ~0xFFFL);
            return pa == null ? -1 : pa + (va & 0xFFF);
        }

        @Override
        public int asid() {
            return 77;
        }
    }

    @Test
    @DisplayName("D16: three vendor backends live at once, each serving its own devices on a "
            + "translated default domain")
    void probe() {
        start();
        assertEquals(3, iommu.backends().length);
        assertEquals(5, iommu.devices().length);
        for (String b : List.of("smmu0", "dmar0", "viommu0")) {
            IommuGroup g = iommu.group(dev(b));
            assertEquals(b, g.backend());
            Translation t = iommu.translate(dev(b), 0, 0x1000, Access.READ);
            assertEquals(Translation.Outcome.FAULT, t.outcome(), b + ": nothing mapped yet");
            assertTrue(iommu.commandLog(b, 100).length > 0, b + " issued commands");
        }
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmu0", "dmar0", "viommu0"})
    @DisplayName("rules 44, 57, 58: a caller domain attaches, maps 4K and 2M pages, translates, unmaps")
    void callerDomain(String backend) {
        start();
        String d = dev(backend);
        IommuDomain dom = iommu.domainAlloc(d, false);
        iommu.attachGroup(dom, iommu.group(d));
        iommu.map(dom, 0x10000, 0x7000000, 0x1000, Prot.READ | Prot.WRITE);
        Translation t = iommu.translate(d, 0, 0x10123, Access.WRITE);
        assertEquals(0x7000123, t.physAddr(), backend + ": " + t);
        assertEquals(dom.id(), t.domainId());
        if ((dom.pgsizeBitmap() & (1L << 21)) != 0) {
            iommu.map(dom, 0x200000, 0x8000000, 0x200000, Prot.READ);
            assertEquals(0x8012345, iommu.translate(d, 0, 0x212345, Access.READ).physAddr());
        }
        assertEquals(0x1000, iommu.unmap(dom, 0x10000, 0x1000));
        assertEquals(Translation.Outcome.FAULT, iommu.translate(d, 0, 0x10123, Access.READ)
                .outcome(), backend + ": unmapped and synced");
        iommu.detachGroup(dom, iommu.group(d));
        iommu.domainFree(dom);
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmu0", "dmar0", "viommu0"})
    @DisplayName("rule 49: a claimed group is on a blocking domain; DMA faults until release")
    void ownership(String backend) {
        start();
        String d = dev(backend);
        IommuGroup g = iommu.group(d);
        iommu.claimGroup(g, "vfio");
        assertEquals(Translation.Outcome.FAULT, iommu.translate(d, 0, 0x1000, Access.READ)
                .outcome());
        iommu.releaseGroup(g);
        assertFalse(iommu.dmaOwnerClaimed(g));
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmu0", "dmar0"})
    @DisplayName("rules 38, 104, 58: a private PASID translates through its own table; unmap_fast "
            + "leaves the IOTLB stale until sync")
    void privatePasid(String backend) {
        start();
        String d = dev(backend);
        PrivatePasid p = iommu.privatePasidAlloc(d);
        p.map(0x40000, 0x9000000, 0x1000, Prot.READ);
        int pasid = p.pasid().id();
        assertEquals(0x9000010, iommu.translate(d, pasid, 0x40010, Access.READ).physAddr());
        assertEquals(Translation.Outcome.FAULT, iommu.translate(d, 0, 0x40010, Access.READ)
                .outcome(), "without the PASID the private table is not used");
        p.unmapFast(0x40000, 0x1000);
        assertEquals(0x9000010, iommu.translate(d, pasid, 0x40010, Access.READ).physAddr(),
                backend + ": the IOTLB still holds the translation before sync");
        p.sync();
        assertEquals(Translation.Outcome.FAULT, iommu.translate(d, pasid, 0x40010, Access.READ)
                .outcome());
        iommu.privatePasidFree(p);
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmu0", "dmar0"})
    @DisplayName("rules 36, 37: SVA binds walk the process's page table at its PASID")
    void sva(String backend) {
        start();
        Mm mm = new Mm();
        mm.pages.put(0x5000L, 0x3000000L);
        SvaHandle h = iommu.svaBind(dev(backend), mm);
        Translation t = iommu.translate(dev(backend), h.pasid().id(), 0x5004, Access.READ);
        assertEquals(0x3000004, t.physAddr(), backend + ": " + t);
        assertEquals(DomainType.SVA, t.domainType());
        iommu.svaUnbind(h);
        iommu.mmRelease(mm);
    }

    @Test
    @DisplayName("rule 38: virtio-iommu has no PASIDs: PASID calls fail with the documented errors")
    void virtioNoPasid() {
        start();
        assertEquals(0, iommu.maxPasids("ep1"));
        IoasidException e = assertThrows(IoasidException.class, () -> iommu.allocGlobalPasid("ep1"));
        assertEquals(Errno.EINVAL, e.errno());
        e = assertThrows(IoasidException.class, () -> iommu.svaBind("ep1", new Mm()));
        assertEquals(Errno.EOPNOTSUPP, e.errno());
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmu0", "dmar0"})
    @DisplayName("rules 38, 39: a caller domain at a global PASID, detached again")
    void pasidAttach(String backend) {
        start();
        String d = dev(backend);
        IommuDomain dom = iommu.domainAlloc(d, false);
        iommu.map(dom, 0x6000, 0x4400000, 0x1000, Prot.READ);
        IoasidHandle pasid = iommu.allocGlobalPasid(d);
        iommu.attachDevicePasid(dom, d, pasid);
        assertEquals(0x4400000, iommu.translate(d, pasid.id(), 0x6000, Access.READ).physAddr());
        iommu.detachDevicePasid(dom, d, pasid);
        assertEquals(Translation.Outcome.FAULT, iommu.translate(d, pasid.id(), 0x6000,
                Access.READ).outcome());
        iommu.freeGlobalPasid(pasid);
        iommu.domainFree(dom);
    }

    @ParameterizedTest
    @ValueSource(strings = {"smmu0", "dmar0"})
    @DisplayName("rules 89-91: a vIOMMU on a nesting parent with a virtual device ID")
    void viommu(String backend) {
        start();
        String d = dev(backend);
        IommuDomain parent = iommu.domainAlloc(d, true);
        Viommu v = iommu.viommuAlloc(d, parent);
        iommu.vdeviceAlloc(v, d, 0x21);
        assertEquals(d, iommu.vdeviceFind(v, 0x21));
        iommu.viommuTeardown(v);
        iommu.domainFree(parent);
    }

    @Test
    @DisplayName("D17: a backend leaving blocks only its devices; a new instance brings them back")
    void backendLeavesAndReturns() {
        start();
        String d = dev("smmu0");
        IommuDomain dom = iommu.domainAlloc(d, false);
        iommu.attachGroup(dom, iommu.group(d));
        iommu.map(dom, 0x1000, 0x2000, 0x1000, Prot.READ);
        IommuDomain vdom = iommu.domainAlloc(dev("dmar0"), false);
        iommu.attachGroup(vdom, iommu.group(dev("dmar0")));
        iommu.map(vdom, 0x1000, 0x5000, 0x1000, Prot.READ);
        iommu.unbindBackend(smmu, props.get(smmu));
        assertEquals("NO_IOMMU", iommu.translate(d, 0, 0x1000, Access.READ).fault());
        assertFalse(dom.live());
        assertEquals(0x5000, iommu.translate(dev("dmar0"), 0, 0x1000, Access.READ).physAddr(),
                "VT-d keeps serving its devices");
        Smmuv3Backend again = new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class,
                Map.of("ioasid_iommu_name", "smmu0", "devices", new String[] {
                    "0000:00:01.0;sid=0x8;pasid=16", "0000:00:02.0;sid=0x10;pasid=16"})));
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, 500L);
        p.put(IommuBackend.NAME, "smmu0");
        iommu.bindBackend(again, p);
        assertEquals("smmu0", iommu.group(d).backend());
        assertEquals(Translation.Outcome.FAULT, iommu.translate(d, 0, 0x1000, Access.READ)
                .outcome(), "back on an empty default domain");
        assertFalse(iommu.groups()[0].blocked);
    }
}

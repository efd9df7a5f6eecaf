package ioasid.integration.fuzz;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.ConcurrentHashMap;

import org.osgi.framework.Constants;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.dto.DomainDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.spi.IoasidListener;
import ioasid.backend.smmuv3.impl.Smmuv3Backend;
import ioasid.backend.virtio.impl.VirtioIommuBackend;
import ioasid.backend.vtd.impl.VtdBackend;
import ioasid.core.impl.IoasidCore;
import ioasid.core.iommu.IommuCore;
import ioasid.testkit.ComponentConfig;

/**
 * The IOMMU core over the real backends, wired by hand as SCR would (as BackendsWithCoreIT does):
 * two SMMUv3 instances (one with a two-device group), a VT-d unit with nesting and a
 * virtio-iommu. Backends can leave and come back (a new instance, as after a bundle update).
 * Only for the plain JUnit suites: it names the backends' classes.
 */
final class BackendsFixture {
    static final String SMMU_DEV = "0000:00:01.0";
    static final String SMMU_PAIR_A = "0000:00:02.0";
    static final String SMMU_PAIR_B = "0000:00:03.0";
    static final String SMMU1_DEV = "0000:10:01.0";
    static final String VTD_DEV = "0000:01:00.0";
    static final String VIRTIO_DEV = "ep1";
    static final List<String> DEVICES = List.of(SMMU_DEV, SMMU_PAIR_A, SMMU_PAIR_B, SMMU1_DEV,
            VTD_DEV, VIRTIO_DEV);
    static final List<String> SMMU_DEVICES = List.of(SMMU_DEV, SMMU_PAIR_A, SMMU_PAIR_B,
            SMMU1_DEV);
    static final List<String> BACKENDS = List.of("smmu0", "smmu1", "dmar0", "viommu0");

    final IoasidCore ioasid = new IoasidCore(20, 10_000);
    final IommuCore iommu = new IommuCore(ioasid, DomainType.DMA_FQ, 4096);
    private final Map<String, IommuBackend> live = new LinkedHashMap<>();
    private final Map<String, Map<String, Object>> props = new HashMap<>();
    private long nextId = 1;

    BackendsFixture() {
        Map<String, Object> lp = new HashMap<>();
        lp.put(Constants.SERVICE_ID, 999L);
        lp.put(Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU);
        lp.put(IoasidListener.EVENTS, "FREE");
        ioasid.bindListener(iommu, lp);
        for (String b : BACKENDS) {
            start(b);
        }
    }

    static IommuBackend make(String name) {
        switch (name) {
            case "smmu0":
                return new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class, Map.of(
                        "ioasid_iommu_name", name, "devices", new String[] {
                            SMMU_DEV + ";sid=0x8;pasid=16", SMMU_PAIR_A + ";sid=0x10;pasid=16;group=g2",
                            SMMU_PAIR_B + ";sid=0x18;pasid=16;group=g2"})));
            case "smmu1":
                return new Smmuv3Backend(ComponentConfig.of(Smmuv3Backend.Config.class, Map.of(
                        "ioasid_iommu_name", name, "devices", new String[] {
                            SMMU1_DEV + ";sid=0x8;pasid=16"})));
            case "dmar0":
                return new VtdBackend(null, ComponentConfig.of(VtdBackend.Config.class, Map.of(
                        "ioasid_iommu_name", name, "nesting", true, "devices", new String[] {
                            VTD_DEV + ";pasid=20"})), null);
            default:
                return new VirtioIommuBackend(ComponentConfig.of(VirtioIommuBackend.Config.class, Map.of(
                        "ioasid_iommu_name", name, "devices", new String[] {VIRTIO_DEV + ";sid=1"})),
                        null);
        }
    }

    /** A backend instance arrives (again), as a new service. */
    void start(String name) {
        IommuBackend be = make(name);
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, nextId++);
        p.put(IommuBackend.NAME, name);
        live.put(name, be);
        props.put(name, p);
        iommu.bindBackend(be, p);
    }

    /** The backend's service goes away (its bundle stopped). */
    void stop(String name) {
        IommuBackend be = live.remove(name);
        iommu.unbindBackend(be, props.remove(name));
    }

    boolean running(String name) {
        return live.containsKey(name);
    }

    /** The observable IOMMU state: groups, domains, PASIDs, vIOMMUs, devices. */
    static String snapshot(IommuService iommu) {
        return Fuzz.str(iommu.groups()) + Fuzz.str(iommu.domains()) + Fuzz.str(iommu.pasids())
                + Fuzz.str(iommu.viommus()) + Fuzz.str(iommu.devices());
    }

    /**
     * Known bug 1, D17, D18: every translation a device can make right now, without a PASID and
     * at each attached PASID, is decided by a live domain or by none; never by one of
     * {@code freed}. Returns how many probes it made.
     */
    static int probeAll(IommuService iommu, Set<Integer> freed, long iova) {
        Set<Integer> liveDomains = new TreeSet<>();
        for (DomainDTO d : iommu.domains()) {
            liveDomains.add(d.id);
        }
        for (GroupDTO g : iommu.groups()) {
            Fuzz.check(g.domainId == -1 || liveDomains.contains(g.domainId), "group " + g.id
                    + " is on domain " + g.domainId + ", which is not live " + liveDomains);
        }
        List<String[]> probes = new ArrayList<>();
        for (String dev : DEVICES) {
            probes.add(new String[] {dev, "0"});
        }
        for (PasidDTO p : iommu.pasids()) {
            Fuzz.check(liveDomains.contains(p.domainId), "PASID " + p.pasid + " of " + p.device
                    + " is attached to dead domain " + p.domainId);
            probes.add(new String[] {p.device, Integer.toString(p.pasid)});
        }
        int n = 0;
        for (String[] pr : probes) {
            for (Access a : Access.values()) {
                Translation t = iommu.translate(pr[0], Integer.parseInt(pr[1]), iova, a);
                n++;
                Fuzz.check(!freed.contains(t.domainId()), pr[0] + " pasid " + pr[1] + " " + a
                        + " reached freed domain " + t.domainId() + ": " + t);
                Fuzz.check(t.domainId() == -1 || liveDomains.contains(t.domainId()), pr[0]
                        + " pasid " + pr[1] + " reached a domain that is not live: " + t);
            }
        }
        return n;
    }

    /** A process address space for SVA, with a few pages. */
    static final class Mm implements ProcessAddressSpace {
        final Map<Long, Long> pages = new ConcurrentHashMap<>(Map.of(0x5000L, 0x3000000L));
        final String name;
        final int asid;

        Mm(String name, int asid) {
            this.name = name;
            this.asid = asid;
        }

        @Override
        public long translate(long va, Access access) {
            Long pa = pages.get(va & ~0xFFFL);
            return pa == null ? -1 : pa + (va & 0xFFF);
        }

        @Override
        public int asid() {
            return asid;
        }

        @Override
        public String toString() {
            return "mm " + name;
        }
    }
}

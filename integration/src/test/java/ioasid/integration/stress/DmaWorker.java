package ioasid.integration.stress;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.locks.LockSupport;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidState;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.dto.DomainDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;

/**
 * One thread's DMA traffic on one device of a real backend: a caller-owned paging domain attached
 * to the device's group, pages mapped and unmapped, IOVAs looked up, translations probed with and
 * without a PASID (a global PASID attached to the same domain), against a model of the page
 * table. A translation is either what the model says, by this domain, or, only once the domain
 * is dead because its backend left (D17), anything but a translation by another domain or to
 * another address. When its backend is away the worker waits for it and starts over on a new
 * domain. A worker whose backend is never touched must never see its domain die.
 */
final class DmaWorker {
    static final long PAGE = 0x1000;
    static final long IOVA_BASE = 0x40_0000;
    static final int SLOTS = 64;
    static final long PA_BASE = 0x8000_0000L;

    final String name;
    final String device;
    private final IommuService iommu;
    private final Random rnd;
    private final boolean backendMayLeave;
    private final boolean usePasid;
    private final boolean allocatorMayLeave;

    IommuDomain dom;
    final Map<Integer, Long> mapped = new HashMap<>();
    IoasidHandle pasid;
    boolean pasidAttached;

    long ops;
    long deaths;
    long awayPolls;
    long translations;
    private final List<String> violations = new ArrayList<>();

    DmaWorker(String name, IommuService iommu, String device, long seed, boolean backendMayLeave,
            boolean usePasid, boolean allocatorMayLeave) {
        this.name = name;
        this.iommu = iommu;
        this.device = device;
        this.rnd = new Random(seed);
        this.backendMayLeave = backendMayLeave;
        this.usePasid = usePasid;
        this.allocatorMayLeave = allocatorMayLeave;
    }

    List<String> violations() {
        return violations;
    }

    private void violation(String what, Throwable e) {
        if (violations.size() < 20) {
            violations.add(name + " (" + device + "): " + what + (e == null ? "" : ": " + e));
        } else if (violations.size() == 20) {
            violations.add(name + ": more violations left out");
        }
    }

    private static long iova(int slot) {
        return IOVA_BASE + slot * PAGE;
    }

    /** A domain went away under the worker: allowed only if its backend may leave. */
    private void died(String during, Throwable e) {
        if (dom != null && dom.live()) {
            violation(during + " failed on a live domain " + dom.id(), e);
            return;
        }
        if (!backendMayLeave) {
            violation(during + ": the domain died though its backend was never touched", e);
        }
        deaths++;
        dom = null;
        mapped.clear();
        pasidAttached = false; // D17: the core detached it with UNBIND
    }

    /** One operation; starts over on a new domain when there is none. */
    void step() {
        if (dom == null) {
            recover();
            return;
        }
        ops++;
        int r = rnd.nextInt(100);
        int slot = rnd.nextInt(SLOTS);
        try {
            if (r < 25) {
                map(slot);
            } else if (r < 45) {
                unmap(slot);
            } else if (r < 55) {
                long pa = iommu.iovaToPhys(dom, iova(slot) + 0x10);
                Long want = mapped.get(slot);
                if (pa != (want == null ? 0 : want + 0x10) && dom.live()) {
                    violation("iova_to_phys of slot " + slot + " = 0x" + Long.toHexString(pa)
                            + ", model " + want, null);
                }
            } else if (r < 90) {
                probe(slot, 0);
            } else if (r < 95 && usePasid && pasidAttached) {
                probe(slot, pasid.id());
            } else if (usePasid) {
                togglePasid();
            } else {
                probe(slot, 0);
            }
        } catch (IoasidException e) {
            if (e.errno() == Errno.ENODEV) {
                died("operation " + r, e);
            } else {
                violation("operation " + r + " on slot " + slot + " failed", e);
            }
        }
    }

    private void map(int slot) {
        if (mapped.containsKey(slot)) {
            try {
                iommu.map(dom, iova(slot), PA_BASE + rnd.nextInt(1 << 16) * PAGE, PAGE, Prot.READ);
                violation("mapping slot " + slot + " twice succeeded", null);
            } catch (IoasidException e) {
                if (e.errno() == Errno.ENODEV) {
                    throw e;
                }
                if (e.errno() != Errno.EEXIST) {
                    violation("mapping a mapped slot failed with the wrong errno", e);
                }
            }
            return;
        }
        long pa = PA_BASE + rnd.nextInt(1 << 16) * PAGE;
        iommu.map(dom, iova(slot), pa, PAGE, Prot.READ | Prot.WRITE);
        mapped.put(slot, pa);
    }

    private void unmap(int slot) {
        long n = iommu.unmap(dom, iova(slot), PAGE);
        Long had = mapped.remove(slot);
        if (n != (had == null ? 0 : PAGE) && dom.live()) {
            violation("unmap of slot " + slot + " returned " + n + ", model " + had, null);
        }
    }

    /** D18 and the model: only this domain's page table decides, with what the model holds. */
    private void probe(int slot, int withPasid) {
        translations++;
        long off = rnd.nextInt((int) PAGE) & ~7L;
        Translation t = iommu.translate(device, withPasid, iova(slot) + off, Access.READ);
        Long pa = mapped.get(slot);
        int id = dom.id();
        boolean consistent = pa != null
                ? t.translated() && t.physAddr() == pa + off && t.domainId() == id
                : t.outcome() == Translation.Outcome.FAULT && t.domainId() == id;
        if (consistent) {
            return;
        }
        if (withPasid != 0 && pasid.revoked() && !t.translated()) {
            // its allocator left: revoked (D7), and the core's FREE listener detached it
            pasidAttached = false;
            return;
        }
        if (t.translated()) {
            // never a translation by another domain or to an address the model does not hold
            violation("probe of slot " + slot + " pasid " + withPasid + ": " + t + ", model "
                    + (pa == null ? "unmapped" : "0x" + Long.toHexString(pa + off)) + " in domain "
                    + id, null);
            return;
        }
        if ("NO_IOMMU".equals(t.fault()) && dom.live()) {
            // the backend is leaving: the probe sees the device blocked a moment before the
            // domain is marked dead (D17 blocks first); it must die now
            long until = System.nanoTime() + 5_000_000_000L;
            while (dom.live() && System.nanoTime() < until) {
                LockSupport.parkNanos(100_000);
            }
        }
        if (dom.live()) {
            violation("probe of slot " + slot + " pasid " + withPasid + " on live domain " + id
                    + ": " + t + ", model " + (pa == null ? "unmapped" : "mapped"), null);
            return;
        }
        died("probe (" + t + ")", null);
    }

    private void togglePasid() {
        if (pasid == null) {
            try {
                pasid = iommu.allocGlobalPasid(device);
            } catch (IoasidException e) {
                if (!(allocatorMayLeave && e.errno() == Errno.EAGAIN)) {
                    throw e;
                }
                return;
            }
            try {
                iommu.attachDevicePasid(dom, device, pasid);
                pasidAttached = true;
            } catch (IoasidException e) {
                if (e.errno() == Errno.EINVAL && pasid.revoked()) {
                    return; // its allocator left already; freed below on the next toggle
                }
                throw e;
            }
        } else {
            IoasidHandle p = pasid;
            if (pasidAttached) {
                try {
                    iommu.detachDevicePasid(dom, device, p);
                } catch (IoasidException e) {
                    // revoked: the core's FREE listener detached it already; a dead domain: the
                    // backend left and took the attachment (D17), the next call finds out
                    if (!(e.errno() == Errno.EINVAL && (p.revoked() || !dom.live()))) {
                        throw e;
                    }
                }
                pasidAttached = false;
            }
            freePasid();
        }
    }

    private void freePasid() {
        IoasidHandle p = pasid;
        pasid = null;
        pasidAttached = false;
        iommu.freeGlobalPasid(p);
    }

    /** After a death: a new domain once the backend serves the device again. */
    private void recover() {
        try {
            if (pasid != null) {
                freePasid();
            }
            IommuDomain d = iommu.domainAlloc(device, false);
            try {
                iommu.attachGroup(d, iommu.group(device));
            } catch (IoasidException e) {
                if (d.live()) {
                    iommu.domainFree(d);
                }
                throw e;
            }
            dom = d;
        } catch (IoasidException e) {
            if (e.errno() != Errno.ENODEV || !backendMayLeave) {
                violation("starting over on a new domain failed", e);
            }
            awayPolls++;
            LockSupport.parkNanos(1_000_000);
        }
    }

    /** Called before the worker's thread and the churn start, while its backend is there. */
    void setUp() {
        recover();
        if (dom == null) {
            violation("no domain at the start", null);
        }
    }

    // ------------------------------------------------------------------ after the threads stop

    /** The service's view of this worker's device, domain and PASID against the model. */
    List<String> checkSnapshot() {
        List<String> out = new ArrayList<>(violations);
        if (dom == null || !dom.live()) {
            if (dom != null && !backendMayLeave) {
                out.add(name + ": domain " + dom.id() + " died");
            }
            return out; // starts over; nothing of the dead domain may remain (checked globally)
        }
        int gid = iommu.group(device).id();
        for (GroupDTO g : iommu.groups()) {
            if (g.id == gid && (g.domainId != dom.id() || g.blocked)) {
                out.add(name + ": group " + gid + " is on domain " + g.domainId
                        + (g.blocked ? " (blocked)" : "") + ", the worker's is " + dom.id());
            }
        }
        for (int slot = 0; slot < SLOTS; slot++) {
            Long pa = mapped.get(slot);
            long got = iommu.iovaToPhys(dom, iova(slot));
            if (got != (pa == null ? 0 : pa)) {
                out.add(name + ": slot " + slot + " maps to 0x" + Long.toHexString(got)
                        + ", model " + pa);
            }
            Translation t = iommu.translate(device, 0, iova(slot), Access.READ);
            if (pa != null ? !(t.translated() && t.physAddr() == pa && t.domainId() == dom.id())
                    : t.translated()) {
                out.add(name + ": slot " + slot + " probes " + t + ", model " + pa);
            }
        }
        boolean listed = false;
        for (PasidDTO p : iommu.pasids()) {
            if (pasid != null && p.device.equals(device) && p.pasid == pasid.id()) {
                listed = p.domainId == dom.id();
            }
        }
        boolean attached = pasidAttached && pasid != null && !pasid.revoked();
        if (listed != attached) {
            out.add(name + ": PASID " + (pasid == null ? "-" : pasid.id()) + " attached per "
                    + "the model: " + attached + ", per the core: " + listed);
        }
        if (pasid != null && !pasid.revoked()) {
            int refs = 1 + (attached ? 1 : 0);
            if (pasid.refCount() != refs) {
                out.add(name + ": PASID " + pasid.id() + " has " + pasid.refCount()
                        + " references, the model " + refs);
            }
        }
        return out;
    }

    /** Expected references on the worker's PASID, for the global IOASID count (0 if none). */
    int pasidRefs() {
        if (pasid == null || pasid.revoked()) {
            return 0;
        }
        return 1 + (pasidAttached && dom != null && dom.live() ? 1 : 0);
    }

    /** Unmaps, detaches and frees everything; returns what went wrong. */
    List<String> release() {
        List<String> out = new ArrayList<>();
        try {
            if (pasid != null) {
                if (pasidAttached && dom != null && dom.live() && !pasid.revoked()) {
                    iommu.detachDevicePasid(dom, device, pasid);
                }
                IoasidHandle p = pasid;
                freePasid();
                if (p.state() != IoasidState.FREE) {
                    out.add(name + ": PASID " + p.id() + " is " + p.state() + " after its free");
                }
            }
            if (dom != null && dom.live()) {
                for (Map.Entry<Integer, Long> e : mapped.entrySet()) {
                    long n = iommu.unmap(dom, iova(e.getKey()), PAGE);
                    if (n != PAGE) {
                        out.add(name + ": unmap of slot " + e.getKey() + " returned " + n);
                    }
                }
                mapped.clear();
                long rest = iommu.unmap(dom, IOVA_BASE, SLOTS * PAGE);
                if (rest != 0) {
                    out.add(name + ": " + rest + " bytes mapped beyond the model");
                }
                iommu.detachGroup(dom, iommu.group(device));
                iommu.domainFree(dom);
            }
        } catch (IoasidException e) {
            out.add(name + ": release failed: " + e);
        }
        dom = null;
        return out;
    }

    /** After every worker released: only core domains left, every group on its default one. */
    static List<String> checkClean(IommuService iommu) {
        List<String> out = new ArrayList<>();
        for (DomainDTO d : iommu.domains()) {
            if (!d.role.equals("default") && !d.role.equals("blocking")) {
                out.add("domain " + d.id + " (" + d.role + ", " + d.backend + ") outlived its "
                        + "user");
            }
            if (d.pasids.length > 0) {
                out.add("domain " + d.id + " still has PASIDs " + String.join(",", d.pasids));
            }
        }
        for (GroupDTO g : iommu.groups()) {
            if (g.blocked || g.domainId != g.defaultDomainId || g.pasids != 0) {
                out.add("group " + g.id + " (" + g.backend + ") on domain " + g.domainId
                        + ", default " + g.defaultDomainId + (g.blocked ? ", blocked" : "")
                        + ", " + g.pasids + " PASIDs");
            }
        }
        if (iommu.pasids().length != 0) {
            out.add(iommu.pasids().length + " PASIDs still attached");
        }
        return out;
    }
}

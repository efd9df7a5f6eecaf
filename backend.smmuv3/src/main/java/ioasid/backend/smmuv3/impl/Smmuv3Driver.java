package ioasid.backend.smmuv3.impl;

import static ioasid.api.Errno.E2BIG;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.backend.smmuv3.impl.Bits.hex;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.Walk;

/*
 * The Linux arm-smmu-v3 driver for one SMMU: its books (masters, domains, VMIDs, vIOMMUs) and
 * what it does to the hardware (Smmu) on each call. The structures it writes own their order:
 * SteWriter the STE's, CdWriter the CDs', AsidSpace the ASIDs'.
 *
 * Rules (kernel-rules.md rules 44, 89, 98; section 2 "ARM SMMUv3"; known bug 10):
 *  1. caps().maxPasids() is 1 << IDR1.SSIDSIZE (known bug 10 reported SSIDSIZE itself); 0 when
 *     SSIDSIZE is 0.
 *  2. SSID >= 1 << S1CDMax is E2BIG (rule 98). SSID 0 is never a PASID (EINVAL). Attaching over
 *     a live CD 0 removes it and installs the new one (DMA is discarded in between, which rule
 *     44 allows); a CD 0 the STE no longer uses is removed after the STE changed. A replace
 *     (D25) is Smmuv3Replace's: the STE and CDs move through EntryWriter (rule 109).
 *  3. Each stage-1 domain owns an ASID (AsidSpace), each nesting parent the lowest free VMID of
 *     8 or 16 bits.
 *  4. Invalidation by range is one TLBI by VA (IPA) per granule, or the whole ASID (VMID) from
 *     512 commands on (CMDQ_MAX_TLBI_OPS), then CMD_SYNC; a freed domain has its ASID (VMID)
 *     invalidated. ATS is not modelled (STE.EATS is 0), so no ATC_INV is ever needed.
 *  5. detachDev is EOPNOTSUPP (the driver uses default domains); attaching the current domain
 *     again does nothing (rule 44). A domain with attachments is not freed (EBUSY).
 *  6. A vIOMMU needs nesting and a stage-2 nesting parent (rule 89).
 *
 * Concurrency: one lock per instance, `lock`, guards the books and the whole hardware model
 * (registers, tables, caches, queue); Smmuv3Domain and Smmuv3Viommu take it for their own
 * operations. Nothing outside this bundle is called under it; an SVA walk releases it before
 * asking the process's page table.
 */
final class Smmuv3Driver {
    /** CMDQ_MAX_TLBI_OPS: from this many per-page commands on, invalidate the whole context. */
    static final int MAX_TLBI_OPS = 1 << (12 - 3);

    final ReentrantLock lock = new ReentrantLock();
    final String name;
    final Smmuv3Params params;
    final Smmu smmu;
    final CdWriter cds;
    final SteWriter stes;
    final Smmuv3Replace replace;
    private final AsidSpace asids;
    private final IommuCaps caps;
    private final Map<String, Master> masters = new LinkedHashMap<>();
    private final Map<Integer, Smmuv3Domain> domains = new LinkedHashMap<>();
    private final BitSet vmids = new BitSet();
    private final List<Smmuv3Viommu> viommus = new ArrayList<>();
    private int nextDomainId = 1;
    private boolean closed;

    /** arm_smmu_device_probe: the hardware from the parameters, and what it offers (rule 1). */
    Smmuv3Driver(String name, Smmuv3Params params) {
        this.name = name;
        this.params = params;
        this.smmu = new Smmu(params.sidBits, params.ssidBits, params.cd2l, params.asid16,
                params.vmid16, params.ias, params.oas, params.tableMemoryKib * 1024,
                params.commandLogSize);
        this.cds = new CdWriter(smmu);
        this.stes = new SteWriter(smmu);
        this.asids = new AsidSpace(smmu, cds);
        this.replace = new Smmuv3Replace(this);
        this.caps = IommuCaps.builder(Smmuv3Backend.VENDOR)
                .maxPasids(params.ssidBits == 0 ? 0 : 1 << params.ssidBits)
                .pgsizeBitmap(IoPgtable.PGSIZE_BITMAP)
                .addressBits(params.ias, params.oas)
                .domainTypes(EnumSet.of(DomainType.BLOCKED, DomainType.IDENTITY,
                        DomainType.UNMANAGED, DomainType.DMA, DomainType.DMA_FQ))
                .defaultDomains(true)
                .nesting(params.nesting)
                .build();
    }

    IommuCaps caps() {
        return caps;
    }

    /** Every later call is ENODEV. */
    void close() {
        lock.lock();
        try {
            closed = true;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ masters

    /**
     * Makes the masters those the list names: it is checked whole first (nothing changes when an
     * entry is bad), then masters no longer listed (or changed) are released and new ones probed,
     * in list order.
     *
     * @param specs entries in {@link DeviceInfo#parse} form
     * @throws IllegalArgumentException for a bad entry, a duplicate name or StreamID, or a
     *         StreamID the stream table cannot hold
     */
    void setDevices(List<String> specs) {
        List<DeviceInfo> infos = parseDevices(specs);
        lock.lock();
        try {
            Map<String, DeviceInfo> wanted = new LinkedHashMap<>();
            for (DeviceInfo d : infos) {
                wanted.put(d.name(), d);
            }
            for (Master m : new ArrayList<>(masters.values())) {
                if (!m.info.equals(wanted.get(m.name()))) {
                    releaseMaster(m);
                }
            }
            Map<String, Master> next = new LinkedHashMap<>();
            for (DeviceInfo d : infos) {
                Master m = masters.get(d.name());
                if (m == null) {
                    smmu.ensureSpan(d.streamId());
                    m = Master.probe(d, params);
                }
                next.put(d.name(), m);
            }
            masters.clear();
            masters.putAll(next);
        } finally {
            lock.unlock();
        }
    }

    private List<DeviceInfo> parseDevices(List<String> specs) {
        List<DeviceInfo> out = new ArrayList<>();
        Set<String> names = new HashSet<>();
        Set<Long> sids = new HashSet<>();
        for (int i = 0; i < specs.size(); i++) {
            DeviceInfo d = DeviceInfo.parse(specs.get(i), i);
            if (!names.add(d.name())) {
                throw new IllegalArgumentException("device " + d.name() + " listed twice");
            }
            if (!sids.add(d.streamId())) {
                throw new IllegalArgumentException("StreamID " + hex(d.streamId()) + " of "
                        + d.name() + " already taken (arm_smmu_insert_master: EEXIST)");
            }
            if (!smmu.sidInRange(d.streamId())) {
                throw new IllegalArgumentException("StreamID " + hex(d.streamId()) + " of "
                        + d.name() + " outside the stream table (ERANGE)");
            }
            out.add(d);
        }
        return out;
    }

    /** arm_smmu_release_device: PASIDs cleared, the STE set to abort, the CD table freed. */
    private void releaseMaster(Master m) {
        for (Map.Entry<Integer, Smmuv3Domain> e : new ArrayList<>(m.pasids.entrySet())) {
            clearPasid(m, e.getKey(), e.getValue());
        }
        Smmuv3Domain rid = m.ridDomain;
        if (rid != null) {
            rid.attachments.remove(new Smmuv3Domain.Attachment(m, 0));
        }
        m.ridDomain = null;
        stes.install(m);
        if (cds.cd0Valid(m)) {
            cds.remove(List.of(new Smmuv3Domain.Attachment(m, 0)));
        }
        if (m.cdTable != null) {
            m.cdTable.free(smmu.mem);
            m.cdTable = null;
        }
        for (Smmuv3Viommu v : viommus) {
            v.forget(m);
        }
        masters.remove(m.name());
    }

    List<DeviceInfo> devices() {
        lock.lock();
        try {
            List<DeviceInfo> out = new ArrayList<>();
            for (Master m : masters.values()) {
                out.add(m.info);
            }
            return Collections.unmodifiableList(out);
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ domains

    Smmuv3Domain domainAlloc(DomainType type, boolean nestingParent) {
        if (type == null) {
            throw err(EINVAL, "no domain type");
        }
        lock.lock();
        try {
            checkOpen();
            switch (type) {
                case BLOCKED:
                case IDENTITY:
                    if (nestingParent) {
                        throw err(EINVAL, "a " + type.sysfsName()
                                + " domain cannot be a nesting parent");
                    }
                    return register(new Smmuv3Domain(this, type, type == DomainType.BLOCKED
                            ? Smmuv3Domain.Kind.BLOCKED : Smmuv3Domain.Kind.IDENTITY,
                            nextDomainId));
                case UNMANAGED:
                case DMA:
                case DMA_FQ:
                    if (nestingParent) {
                        if (!params.nesting) {
                            throw err(EOPNOTSUPP, "SMMU " + name + " has no nesting");
                        }
                        if (type != DomainType.UNMANAGED) {
                            throw err(EINVAL, "a nesting parent is an unmanaged domain");
                        }
                        return allocS2(type);
                    }
                    return allocS1(type);
                default:
                    throw err(EOPNOTSUPP, "SVA domains come from svaDomainAlloc");
            }
        } finally {
            lock.unlock();
        }
    }

    private Smmuv3Domain register(Smmuv3Domain d) {
        nextDomainId++;
        domains.put(d.id, d);
        return d;
    }

    private Smmuv3Domain allocS1(DomainType type) {
        int asid = asids.lowestFree();
        Smmuv3Domain d = new Smmuv3Domain(this, type, Smmuv3Domain.Kind.S1, nextDomainId);
        d.pgtable = new IoPgtable(IoPgtable.Stage.S1, params.ias, params.oas, smmu.mem, d);
        d.asid = asid;
        asids.claim(asid, d);
        return register(d);
    }

    private Smmuv3Domain allocS2(DomainType type) {
        int vmid = vmids.nextClearBit(1);
        if (vmid >= 1 << smmu.vmidBits) {
            throw err(ENOSPC, "no free VMID (" + smmu.vmidBits + " bits)");
        }
        Smmuv3Domain d = new Smmuv3Domain(this, type, Smmuv3Domain.Kind.S2, nextDomainId);
        d.pgtable = new IoPgtable(IoPgtable.Stage.S2, params.ias, params.oas, smmu.mem, d);
        d.vmid = vmid;
        vmids.set(vmid);
        return register(d);
    }

    Smmuv3Domain svaDomainAlloc(ProcessAddressSpace mm) {
        if (mm == null) {
            throw err(EINVAL, "no address space");
        }
        boolean compatible = mm.dmaCompatible();
        int asid = mm.asid();
        lock.lock();
        try {
            checkOpen();
            if (!params.sva || params.ssidBits == 0) {
                throw err(EOPNOTSUPP, "SMMU " + name + " has no SVA");
            }
            if (!compatible) {
                throw err(EBUSY, "the process page table is not DMA compatible (rule 36)");
            }
            SharedAsid shared = asids.share(mm, asid);
            Smmuv3Domain d = new Smmuv3Domain(this, DomainType.SVA, Smmuv3Domain.Kind.SVA,
                    nextDomainId);
            d.shared = shared;
            d.asid = asid;
            return register(d);
        } finally {
            lock.unlock();
        }
    }

    /** arm_smmu_domain_free: its context invalidated, its tables and its ASID (VMID) given back. */
    void freeDomain(Smmuv3Domain d) {
        lock.lock();
        try {
            if (d.freed) {
                throw err(EINVAL, d + " freed twice");
            }
            if (!d.attachments.isEmpty()) {
                throw err(EBUSY, d + " is still attached to " + d.attachments);
            }
            if (d.viommus > 0) {
                throw err(EBUSY, d + " still carries " + d.viommus + " vIOMMU(s)");
            }
            if (d.paging()) {
                invalidateAll(d); // tlb_flush_all
                d.pgtable.free();
                if (d.kind == Smmuv3Domain.Kind.S1) {
                    asids.release(d.asid);
                } else {
                    vmids.clear(d.vmid);
                }
            } else if (d.kind == Smmuv3Domain.Kind.SVA) {
                asids.unshare(d.shared);
            }
            d.freed = true;
            domains.remove(d.id);
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ TLB invalidation

    /** Invalidates the domain's whole context, then CMD_SYNC. The caller holds the lock. */
    void invalidateAll(Smmuv3Domain d) {
        smmu.cmdq.submit(List.of(invalidateContext(d)));
    }

    private static Command invalidateContext(Smmuv3Domain d) {
        return d.kind == Smmuv3Domain.Kind.S1 ? Command.tlbiNhAsid(d.asid)
                : Command.tlbiS12Vmall(d.vmid);
    }

    /**
     * arm_smmu_tlb_inv_range_domain without range invalidation: one TLBI per granule (rule 5).
     * The caller holds the lock.
     */
    void invalidateRange(Smmuv3Domain d, long start, long size, long granule, boolean leaf) {
        List<Command> batch = new ArrayList<>();
        if (size / granule >= MAX_TLBI_OPS) {
            batch.add(invalidateContext(d));
        } else {
            for (long va = start; va - start < size; va += granule) {
                batch.add(d.kind == Smmuv3Domain.Kind.S1 ? Command.tlbiNhVa(d.asid, va, leaf)
                        : Command.tlbiS2Ipa(d.vmid, va, leaf));
            }
        }
        smmu.cmdq.submit(batch);
    }

    // ------------------------------------------------------------------ attach

    void attachDev(String device, BackendDomain domain) {
        lock.lock();
        try {
            checkOpen();
            Master m = master(device);
            Smmuv3Domain d = own(domain);
            if (d.kind == Smmuv3Domain.Kind.SVA) {
                throw err(EINVAL, "an SVA domain is attached at a PASID only");
            }
            if (m.ridDomain == d) {
                return; // rule 44: attaching the current domain again cannot fail
            }
            Smmuv3Domain.Attachment rid = new Smmuv3Domain.Attachment(m, 0);
            if (d.kind == Smmuv3Domain.Kind.S1) {
                cds.prepare(m, 0);
                if (cds.cd0Valid(m)) {
                    cds.remove(List.of(rid));
                }
                cds.install(List.of(rid), cdFor(d), d);
            } else if (d.kind == Smmuv3Domain.Kind.S2 && !m.pasids.isEmpty()) {
                throw err(EBUSY, "a stage-2 domain cannot take " + m.name()
                        + " while its PASIDs are in use");
            }
            if (m.ridDomain != null) {
                m.ridDomain.attachments.remove(rid);
            }
            d.attachments.add(rid);
            m.ridDomain = d;
            stes.install(m);
            if (d.kind != Smmuv3Domain.Kind.S1 && cds.cd0Valid(m)) {
                cds.remove(List.of(rid)); // after the STE stopped using CD 0
            }
        } finally {
            lock.unlock();
        }
    }

    void detachDev(String device) {
        throw err(EOPNOTSUPP, "SMMUv3 uses default domains: attach BLOCKED or IDENTITY instead");
    }

    void setDevPasid(String device, int pasid, BackendDomain domain) {
        lock.lock();
        try {
            checkOpen();
            Master m = master(device);
            checkPasid(pasid);
            Smmuv3Domain d = own(domain);
            if (d.kind != Smmuv3Domain.Kind.S1 && d.kind != Smmuv3Domain.Kind.SVA) {
                throw err(EINVAL, "a " + d.kind + " domain cannot be attached at a PASID");
            }
            if (pasid >= 1L << m.ssidBits) {
                throw err(E2BIG, "SSID " + pasid + " >= 1 << S1CDMax " + m.ssidBits + " of "
                        + m.name() + " (rule 98)");
            }
            Smmuv3Domain rid = m.ridDomain;
            if (rid == null || rid.kind == Smmuv3Domain.Kind.S2) {
                throw err(EINVAL, m.name() + " is on " + (rid == null ? "no domain" : rid)
                        + ": its STE has no CD table");
            }
            Smmuv3Domain cur = m.pasids.get(pasid);
            if (cur == d) {
                return;
            }
            if (cur != null) {
                throw err(EBUSY, "PASID " + pasid + " of " + m.name() + " is on " + cur);
            }
            cds.prepare(m, pasid);
            Smmuv3Domain.Attachment a = new Smmuv3Domain.Attachment(m, pasid);
            cds.install(List.of(a), cdFor(d), d);
            m.pasids.put(pasid, d);
            d.attachments.add(a);
            stes.install(m);
        } finally {
            lock.unlock();
        }
    }

    void removeDevPasid(String device, int pasid, BackendDomain domain) {
        lock.lock();
        try {
            checkOpen();
            Master m = master(device);
            checkPasid(pasid);
            Smmuv3Domain d = own(domain);
            if (m.pasids.get(pasid) != d) {
                throw err(EINVAL, "PASID " + pasid + " of " + m.name() + " is not on " + d);
            }
            clearPasid(m, pasid, d);
            stes.install(m); // the last PASID under IDENTITY/BLOCKED gives back bypass/abort
        } finally {
            lock.unlock();
        }
    }

    private void clearPasid(Master m, int pasid, Smmuv3Domain d) {
        cds.remove(List.of(new Smmuv3Domain.Attachment(m, pasid)));
        if (d.kind == Smmuv3Domain.Kind.SVA) {
            // __arm_smmu_sva_unbind: the shared ASID's TLB entries go with the CD.
            smmu.cmdq.submit(List.of(Command.tlbiNhAsid(d.asid)));
        }
        m.pasids.remove(pasid);
        d.attachments.remove(new Smmuv3Domain.Attachment(m, pasid));
    }

    long[] cdFor(Smmuv3Domain d) {
        return d.kind == Smmuv3Domain.Kind.S1
                ? Cd.s1(d.pgtable.iasBits, d.pgtable.ttb(), params.oas, d.asid)
                : Cd.sva(d.shared.pgd.pa, params.oas, d.shared.asid);
    }

    // ------------------------------------------------------------------ translation

    Walk translate(String device, int pasid, long iova, Access access) {
        if (access == null) {
            throw err(EINVAL, "no access type");
        }
        Object r;
        lock.lock();
        try {
            checkOpen();
            Master m = master(device);
            if (pasid < 0 || pasid >= 1 << 20) {
                throw err(EINVAL, "PASID " + pasid + " is not a 20-bit SubstreamID");
            }
            r = smmu.translate(m.sid, pasid, iova, access == Access.WRITE);
        } finally {
            lock.unlock();
        }
        // A CD that shares a process page table is walked without holding the lock.
        return r instanceof Walk w ? w : ((Smmu.SvaWalk) r).finish(iova, access);
    }

    // ------------------------------------------------------------------ vIOMMU

    Smmuv3Viommu viommuAlloc(BackendDomain nestingParent) {
        lock.lock();
        try {
            checkOpen();
            if (!params.nesting) {
                throw err(EOPNOTSUPP, "SMMU " + name + " has no nesting");
            }
            Smmuv3Domain d = own(nestingParent);
            if (d.kind != Smmuv3Domain.Kind.S2) {
                throw err(EINVAL, d + " is not a nesting parent (rule 89)");
            }
            Smmuv3Viommu v = new Smmuv3Viommu(this, d);
            d.viommus++;
            viommus.add(v);
            return v;
        } finally {
            lock.unlock();
        }
    }

    /** The vIOMMU is destroyed: its parent may go. The caller holds the lock. */
    void viommuDestroyed(Smmuv3Viommu v) {
        v.parent.viommus--;
        viommus.remove(v);
    }

    /** The master a vDevice stands for (rule 90). The caller holds the lock. */
    Master vdeviceMaster(String device) {
        Master m = device == null ? null : masters.get(device);
        if (m == null) {
            throw err(EINVAL, device + " is not behind SMMU " + name + " (rule 90)");
        }
        return m;
    }

    List<String> commandLog() {
        lock.lock();
        try {
            return Collections.unmodifiableList(smmu.cmdq.strings());
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ checks

    static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    /** ENODEV once the component is deactivated. The caller holds the lock. */
    void checkOpen() {
        if (closed) {
            throw err(ENODEV, "SMMU " + name + " has stopped");
        }
    }

    Master master(String device) {
        Master m = device == null ? null : masters.get(device);
        if (m == null) {
            throw err(ENODEV, "no device " + device + " behind SMMU " + name);
        }
        return m;
    }

    Smmuv3Domain own(BackendDomain domain) {
        if (!(domain instanceof Smmuv3Domain d) || d.driver != this) {
            throw err(EINVAL, domain + " is not a domain of SMMU " + name);
        }
        if (d.freed) {
            throw err(EINVAL, d + " was freed");
        }
        return d;
    }

    static void checkPasid(int pasid) {
        if (pasid <= 0 || pasid >= 1 << 20) {
            throw err(EINVAL, "PASID " + pasid + (pasid == 0
                    ? " is SSID 0, the context of DMA without PASID" : " is not 1..2^20-1"));
        }
    }

    // ------------------------------------------------------------------ inspection

    Master masterOf(String device) {
        return masters.get(device);
    }

    /** The holder of an ASID: a domain, a SharedAsid, or null. */
    Object asidHolder(int asid) {
        lock.lock();
        try {
            return asids.holder(asid);
        } finally {
            lock.unlock();
        }
    }

    /**
     * Everything observable of the hardware and the driver: STEs, CD tables, page tables, ASIDs,
     * caches, memory and the queue position. A failed call must leave it as it was.
     */
    String state() {
        lock.lock();
        try {
            StringBuilder b = new StringBuilder();
            b.append("strtab").append(smmu.strtabState()).append('\n');
            for (Master m : masters.values()) {
                m.describe(b, smmu.readSte(m.sid));
                b.append('\n');
            }
            for (Smmuv3Domain d : domains.values()) {
                d.describe(b);
                b.append('\n');
            }
            b.append("asids=").append(asids).append(" vmids=").append(vmids);
            b.append(" mem=").append(smmu.mem.used()).append('/')
                    .append(smmu.mem.regionCount());
            b.append(" cmds=").append(smmu.cmdq.issued()).append('\n');
            b.append(smmu.cacheState());
            for (Smmuv3Viommu v : viommus) {
                b.append('\n').append(v);
            }
            return b.toString();
        } finally {
            lock.unlock();
        }
    }
}

package ioasid.backend.vtd.impl;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
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
 * The intel-iommu driver for one DMAR unit, over the hardware model in DmarUnit.
 *
 * Rules:
 *  1. Scalable mode: every device gets a context entry pointing at its PASID directory, set up
 *     once; DMA without PASID uses the RID_PASID entry (PASID 0). attachDev programs PASID entry
 *     0, setDevPasid entry `pasid`. Legacy mode (no ECAP.SMTS) programs the context entry itself.
 *  2. Programming a PASID entry that is present is EBUSY; a PASID past the device's table is
 *     ENODEV (rule 95). After setup, caching mode sends a PASID-cache invalidation and a
 *     PASID-based IOTLB flush, otherwise a write-buffer flush.
 *  3. Teardown is intel_pasid_tear_down_entry (rule 96): return when not present; read DID and
 *     PGTT; clear, keeping FPD under fault_ignore; clflush when not coherent; PASID-cache
 *     invalidation; PASID-based IOTLB flush for FL-only and pass-through entries, domain-selective
 *     otherwise; unless caching mode, a device-TLB flush (PASID form for PASIDs, plain for 0).
 *  4. A domain switch of PASID 0 is teardown then setup, as device_block_translation then
 *     dmar_domain_attach_device do; attaching the domain a device is on is a no-op (rule 44).
 *  5. Every argument is checked before anything is written: a failed call changes no table, no
 *     cache and sends no descriptor.
 *  6. One lock guards the unit (tables, caches, queue) and the driver's books. Page tables have
 *     their own lock per domain and are never changed under this one; translate reads them
 *     lock-free, as the hardware does. The process page table of an SVA walk is called after the
 *     lock is released.
 */
final class VtdDriver {
    /** DID 0 is reserved (caching mode tags non-present entries with it). */
    static final int DID_RESERVED = 0;
    /** FLPT_DEFAULT_DID, kept out of the domain ID allocator as intel-iommu does. */
    static final int FLPT_DEFAULT_DID = 1;
    /** ATS invalidate queue depth the devices report (0 means 32). */
    static final int ATS_QDEP = 0;

    /** One endpoint behind the unit. */
    static final class Dev {
        final DeviceInfo info;
        final int rid;
        /** Scalable mode only. */
        final PasidTable table;
        VtdDomain domain;
        final TreeMap<Integer, VtdDomain> pasids = new TreeMap<>();
        boolean contextSet;

        Dev(DeviceInfo info, PasidTable table) {
            this.info = info;
            this.rid = (int) info.streamId();
            this.table = table;
        }

        String name() {
            return info.name();
        }
    }

    private volatile String name;
    private final VtdParams params;
    private final DmarUnit unit;
    private final IommuCaps caps;
    private final ReentrantLock lock = new ReentrantLock();
    private final Map<String, Dev> devices = new LinkedHashMap<>();
    private volatile List<DeviceInfo> deviceInfos = List.of();
    private final BitSet dids = new BitSet();
    private final Map<Integer, VtdDomain> byDid = new HashMap<>();
    private final Set<VtdViommu> viommus = new HashSet<>();

    VtdDriver(String name, VtdParams params, List<DeviceInfo> devices) {
        this.name = name;
        this.params = params;
        this.unit = new DmarUnit(params);
        dids.set(DID_RESERVED);
        dids.set(FLPT_DEFAULT_DID);
        this.caps = buildCaps();
        setDevices(devices);
    }

    private IommuCaps buildCaps() {
        Set<DomainType> types = EnumSet.of(DomainType.BLOCKED);
        if (pagingSupported()) {
            types.addAll(EnumSet.of(DomainType.UNMANAGED, DomainType.DMA, DomainType.DMA_FQ));
        }
        if (unit.passThrough()) {
            types.add(DomainType.IDENTITY);
        }
        return IommuCaps.builder(VtdBackend.VENDOR).maxPasids(unit.maxPasids())
                .pgsizeBitmap(pgsizeBitmap()).addressBits(VtdParams.ADDRESS_BITS, unit.mgaw())
                .domainTypes(types).defaultDomains(true).nesting(nestingSupported()).build();
    }

    // ------------------------------------------------------------------ what the unit offers

    String name() {
        return name;
    }

    void rename(String newName) {
        this.name = newName;
    }

    VtdParams params() {
        return params;
    }

    DmarUnit unit() {
        return unit;
    }

    IommuCaps caps() {
        return caps;
    }

    long pgsizeBitmap() {
        int sllps = unit.sllps();
        return (1L << 12) | ((sllps & 1) != 0 ? 1L << 21 : 0) | ((sllps & 2) != 0 ? 1L << 30 : 0);
    }

    private boolean pagingSupported() {
        return !unit.scalable() || unit.secondLevel(); // legacy mode always translates 2nd-level
    }

    private boolean nestingSupported() {
        return unit.nesting() && unit.scalable() && unit.secondLevel();
    }

    private boolean svaSupported() {
        return unit.scalable() && unit.firstLevel() && unit.maxPasids() > 0;
    }

    /** The largest PASID the unit takes ({@code intel_pasid_max_id}, as an inclusive ID). */
    int maxPasidId() {
        return unit.maxPasids() - 1;
    }

    /**
     * Whether this unit is a guest's vIOMMU that gets its PASIDs from the host (rule 30): caching
     * mode, scalable mode, ECAP.VCS and VCCAP.PAS.
     */
    boolean guestAllocator() {
        return unit.cachingMode() && unit.scalable() && unit.virtualCommands();
    }

    List<DeviceInfo> devices() {
        return deviceInfos;
    }

    // ------------------------------------------------------------------ devices

    /** Checks a device list without changing anything. */
    static void validate(List<DeviceInfo> list) {
        Set<String> names = new HashSet<>();
        Set<Long> rids = new HashSet<>();
        for (DeviceInfo d : list) {
            if (d.streamId() > 0xffff) {
                throw new IoasidException(Errno.EINVAL, "device " + d.name() + ": StreamID 0x"
                        + Long.toHexString(d.streamId()) + " is not a PCI requester ID");
            }
            if (!names.add(d.name())) {
                throw new IoasidException(Errno.EINVAL, "device " + d.name() + " listed twice");
            }
            if (!rids.add(d.streamId())) {
                throw new IoasidException(Errno.EINVAL, "device " + d.name() + ": RID "
                        + DmarUnit.rid((int) d.streamId()) + " used twice");
            }
        }
    }

    /** Applies a device list: released devices lose their entries, new ones get tables. */
    void setDevices(List<DeviceInfo> list) {
        validate(list);
        lock.lock();
        try {
            Map<String, DeviceInfo> wanted = new LinkedHashMap<>();
            for (DeviceInfo d : list) {
                wanted.put(d.name(), d);
            }
            for (Dev d : new ArrayList<>(devices.values())) {
                if (!d.info.equals(wanted.get(d.name()))) {
                    releaseDevice(d);
                }
            }
            for (DeviceInfo info : list) {
                if (!devices.containsKey(info.name())) {
                    PasidTable table = unit.scalable()
                            ? new PasidTable(unit.mem, deviceMaxPasid(info), this::clflushNote)
                            : null;
                    devices.put(info.name(), new Dev(info, table));
                }
            }
            deviceInfos = List.copyOf(list);
        } finally {
            lock.unlock();
        }
    }

    /** PASIDs a device's table covers: min(device capability, unit), at least RID_PASID. */
    private int deviceMaxPasid(DeviceInfo info) {
        int dev = info.pasidBits() > 0 ? 1 << info.pasidBits() : 0;
        return Math.max(1, Math.min(dev, unit.maxPasids()));
    }

    private boolean pasidCapable(Dev d) {
        return d.info.pasidBits() > 0 && unit.maxPasids() > 0;
    }

    /** intel_iommu_release_device: every entry torn down, the context cleared, tables freed. */
    private void releaseDevice(Dev d) {
        if (unit.scalable()) {
            for (int pasid : new ArrayList<>(d.pasids.keySet())) {
                tearDown(d, pasid);
            }
            tearDown(d, 0);
            if (d.contextSet) {
                DmarUnit.CtxSlot slot = unit.context(d.rid, false);
                slot.write(new long[DmarUnit.SM_CTX_LONGS]);
                clflush(slot.pa(), DmarUnit.SM_CTX_LONGS * Long.BYTES, Command.FLUSH_CONTEXT);
                submit(Command.contextCache(Command.CC_DEVICE, DID_RESERVED, d.rid));
            }
            d.table.release();
        } else {
            legacyClear(d);
        }
        forget(d, 0, d.domain);
        for (Map.Entry<Integer, VtdDomain> e : d.pasids.entrySet()) {
            forget(d, e.getKey(), e.getValue());
        }
        devices.remove(d.name());
    }

    private Dev dev(String device) {
        Dev d = device == null ? null : devices.get(device);
        if (d == null) {
            throw new IoasidException(Errno.ENODEV, "no device " + device + " behind " + name);
        }
        return d;
    }

    int rid(String device) {
        lock.lock();
        try {
            return dev(device).rid;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ domains

    private VtdDomain own(BackendDomain domain) {
        if (!(domain instanceof VtdDomain d) || d.driver() != this) {
            throw new IoasidException(Errno.EINVAL, "domain " + domain + " is not of " + name);
        }
        if (d.freed()) {
            throw new IoasidException(Errno.EINVAL, "domain " + d + " was freed");
        }
        return d;
    }

    private int allocDid() {
        int id = dids.nextClearBit(FLPT_DEFAULT_DID + 1);
        if (id >= unit.domainIds()) {
            throw new IoasidException(Errno.ENOSPC, "no free domain ID on " + name + " ("
                    + unit.domainIds() + ")");
        }
        dids.set(id);
        return id;
    }

    private VtdDomain register(VtdDomain d) {
        if (d.did() != DID_RESERVED) {
            byDid.put(d.did(), d);
        }
        return d;
    }

    VtdDomain domainAlloc(DomainType type, boolean nestingParent) {
        if (type == null) {
            throw new IoasidException(Errno.EINVAL, "no domain type");
        }
        lock.lock();
        try {
            switch (type) {
                case BLOCKED:
                    if (nestingParent) {
                        throw new IoasidException(Errno.EOPNOTSUPP, "a blocking domain is no "
                                + "nesting parent");
                    }
                    return register(new VtdDomain(this, type, DID_RESERVED, false, null, null, 0));
                case IDENTITY:
                    if (!unit.passThrough() || nestingParent) {
                        throw new IoasidException(Errno.EOPNOTSUPP, name + " has no pass-through "
                                + "(ECAP.PT)" + (nestingParent ? " nesting parent" : ""));
                    }
                    return register(new VtdDomain(this, type, allocDid(), false, null, null, 0));
                case UNMANAGED:
                case DMA:
                case DMA_FQ:
                    if (!pagingSupported()) {
                        throw new IoasidException(Errno.EOPNOTSUPP, name
                                + " has no second-level translation (ECAP.SLTS)");
                    }
                    if (nestingParent && !nestingSupported()) {
                        throw new IoasidException(Errno.EOPNOTSUPP, name
                                + " cannot nest (ECAP.NEST in scalable mode)");
                    }
                    int did = allocDid();
                    return register(new VtdDomain(this, type, did, nestingParent,
                            new SlPageTable(unit.mem), null, 0));
                case SVA:
                default:
                    throw new IoasidException(Errno.EINVAL, type + " domains come from "
                            + "svaDomainAlloc");
            }
        } finally {
            lock.unlock();
        }
    }

    VtdDomain svaDomainAlloc(ProcessAddressSpace mm) {
        if (mm == null) {
            throw new IoasidException(Errno.EINVAL, "no address space");
        }
        lock.lock();
        try {
            if (!svaSupported()) {
                throw new IoasidException(Errno.EOPNOTSUPP, name + " has no first-level "
                        + "translation with PASIDs (scalable mode, ECAP.FLTS, ECAP.PSS)");
            }
            int did = allocDid();
            // a page standing for the process's PGD: the entry's FLPTPTR points at it
            long pgd = unit.mem.alloc(1);
            return register(new VtdDomain(this, DomainType.SVA, did, false, null, mm, pgd));
        } finally {
            lock.unlock();
        }
    }

    void freeDomain(VtdDomain d) {
        lock.lock();
        try {
            if (d.driver() != this) {
                throw new IoasidException(Errno.EINVAL, "domain " + d + " is not of " + name);
            }
            if (d.freed()) {
                return;
            }
            if (!d.attachments.isEmpty()) {
                throw new IoasidException(Errno.EBUSY, "domain " + d + " is still installed at "
                        + d.attachments);
            }
            for (VtdViommu v : viommus) {
                if (v.parent() == d) {
                    throw new IoasidException(Errno.EBUSY, "domain " + d + " carries a vIOMMU");
                }
            }
            d.markFreed();
            if (d.did() != DID_RESERVED) {
                byDid.remove(d.did());
                dids.clear(d.did());
            }
            if (d.table() != null) {
                d.table().release();
            }
            if (d.flptptr() != 0) {
                unit.mem.free(d.flptptr());
            }
        } finally {
            lock.unlock();
        }
    }

    private static void remember(Dev d, int pasid, VtdDomain dom) {
        if (dom != null) {
            dom.attachments.add(new VtdDomain.Attach(d.name(), d.rid, pasid));
        }
    }

    private static void forget(Dev d, int pasid, VtdDomain dom) {
        if (dom != null) {
            dom.attachments.remove(new VtdDomain.Attach(d.name(), d.rid, pasid));
        }
    }

    // ------------------------------------------------------------------ attach

    void attachDev(String device, BackendDomain domain) {
        lock.lock();
        try {
            Dev d = dev(device);
            VtdDomain dom = own(domain);
            if (dom.type() == DomainType.SVA) {
                throw new IoasidException(Errno.EINVAL, "an SVA domain is attached at a PASID");
            }
            if (d.domain == dom) {
                return; // rule 44: attaching the current domain again is a no-op
            }
            if (unit.scalable()) {
                if (dom.type() != DomainType.BLOCKED) {
                    setUpContext(d);
                }
                tearDown(d, 0); // device_block_translation
                if (dom.type() != DomainType.BLOCKED) {
                    setUp(d, 0, dom);
                }
            } else {
                legacyClear(d);
                if (dom.type() != DomainType.BLOCKED) {
                    legacySet(d, dom);
                }
            }
            forget(d, 0, d.domain);
            d.domain = dom;
            remember(d, 0, dom);
        } finally {
            lock.unlock();
        }
    }

    /**
     * The scalable-mode context entry, once per device: PASID directory, its size, DTE with ATS,
     * PASIDE with PASID support, RID_PASID 0. A non-present to present change: caching mode
     * flushes the context-cache and domain 0 of the IOTLB, otherwise the write buffer.
     */
    private void setUpContext(Dev d) {
        if (d.contextSet) {
            return;
        }
        DmarUnit.CtxSlot slot = unit.context(d.rid, true);
        slot.write(DmarUnit.smContext(d.table.dirAddress(), d.table.pdts(), unit.devTlb(),
                pasidCapable(d), 0));
        d.contextSet = true;
        clflush(slot.pa(), DmarUnit.SM_CTX_LONGS * Long.BYTES, Command.FLUSH_CONTEXT);
        if (unit.cachingMode()) {
            submit(Command.contextCache(Command.CC_DEVICE, DID_RESERVED, d.rid));
            submit(Command.iotlbDomain(DID_RESERVED));
        } else {
            writeBufferFlush();
        }
    }

    /** Legacy mode: the context entry points at the domain's table (or passes through). */
    private void legacySet(Dev d, VtdDomain dom) {
        DmarUnit.CtxSlot slot = unit.context(d.rid, true);
        int tt = dom.type() == DomainType.IDENTITY ? DmarUnit.CTX_TT_PASS_THROUGH
                : unit.devTlb() ? DmarUnit.CTX_TT_DEV_IOTLB : DmarUnit.CTX_TT_TRANSLATED;
        long slptptr = dom.table() != null ? dom.table().root() : 0;
        slot.write(DmarUnit.legacyContext(slptptr, tt, dom.did(), VtdParams.AGAW_48));
        clflush(slot.pa(), DmarUnit.CTX_LONGS * Long.BYTES, Command.FLUSH_CONTEXT);
        if (unit.cachingMode()) {
            submit(Command.contextCache(Command.CC_DEVICE, DID_RESERVED, d.rid));
            submit(Command.iotlbDomain(dom.did()));
        } else {
            writeBufferFlush();
        }
    }

    /** Legacy mode: domain_context_clear_one. */
    private void legacyClear(Dev d) {
        DmarUnit.CtxSlot slot = unit.context(d.rid, false);
        if (slot == null) {
            return;
        }
        long[] old = slot.read();
        if ((old[0] & DmarUnit.CTX_P) == 0) {
            return;
        }
        int didOld = DmarUnit.legacyDid(old);
        slot.write(new long[DmarUnit.CTX_LONGS]);
        clflush(slot.pa(), DmarUnit.CTX_LONGS * Long.BYTES, Command.FLUSH_CONTEXT);
        submit(Command.contextCache(Command.CC_DEVICE, didOld, d.rid));
        submit(Command.iotlbDomain(didOld));
        devTlbFlush(d, 0);
    }

    void detachDev(String device) {
        lock.lock();
        try {
            dev(device);
        } finally {
            lock.unlock();
        }
        // the driver has default domains: no "no domain" state to go back to (rule 44)
        throw new IoasidException(Errno.EOPNOTSUPP, name + " has no detached state; attach the "
                + "blocking domain instead");
    }

    void setDevPasid(String device, int pasid, BackendDomain domain) {
        lock.lock();
        try {
            Dev d = dev(device);
            VtdDomain dom = own(domain);
            checkPasid(d, pasid);
            if (dom.type() == DomainType.BLOCKED) {
                // blocking_domain_set_dev_pasid: the entry goes away
                tearDown(d, pasid);
            } else {
                if (dom.type().isPaging() && !unit.secondLevel()
                        || dom.type() == DomainType.SVA && !unit.firstLevel()) {
                    throw new IoasidException(Errno.EOPNOTSUPP, dom + " cannot be installed at "
                            + "a PASID of " + name);
                }
                PasidTable.Slot slot = d.table.entry(pasid, false);
                if (slot != null && PasidEntry.present(slot.read())) {
                    throw new IoasidException(Errno.EBUSY, "PASID " + pasid + " of " + device
                            + " is in use");
                }
                setUpContext(d);
                setUp(d, pasid, dom);
            }
            forget(d, pasid, d.pasids.put(pasid, dom));
            remember(d, pasid, dom);
        } finally {
            lock.unlock();
        }
    }

    void removeDevPasid(String device, int pasid, BackendDomain domain) {
        lock.lock();
        try {
            Dev d = dev(device);
            VtdDomain dom = own(domain);
            checkPasid(d, pasid);
            VtdDomain cur = d.pasids.get(pasid);
            if (cur != null && cur != dom) {
                throw new IoasidException(Errno.EINVAL, "PASID " + pasid + " of " + device
                        + " is on " + cur + ", not " + dom);
            }
            tearDown(d, pasid);
            d.pasids.remove(pasid);
            forget(d, pasid, dom);
        } finally {
            lock.unlock();
        }
    }

    private void checkPasid(Dev d, int pasid) {
        if (!unit.scalable()) {
            throw new IoasidException(Errno.EOPNOTSUPP, name + " is in legacy mode: no PASIDs");
        }
        if (pasid <= 0) {
            throw new IoasidException(Errno.EINVAL, "PASID " + pasid + ": RID_PASID (0) is "
                    + "the device's own entry");
        }
        if (pasid >= d.table.maxPasid()) {
            // intel_pasid_get_entry finds no entry past the device's table
            throw new IoasidException(Errno.ENODEV, "PASID " + pasid + " beyond the "
                    + d.table.maxPasid() + " PASIDs of " + d.name() + "'s table");
        }
    }

    // ------------------------------------------------------------------ pasid.c

    /** intel_pasid_setup_{second_level,first_level,pass_through} (rule 95). */
    private void setUp(Dev d, int pasid, VtdDomain dom) {
        PasidTable.Slot slot = d.table.entry(pasid, true);
        if (slot == null) {
            throw new IoasidException(Errno.ENODEV, "no PASID entry " + pasid + " for " + d.name());
        }
        if (PasidEntry.present(slot.read())) {
            throw new IoasidException(Errno.EBUSY, "PASID " + pasid + " of " + d.name()
                    + " is in use");
        }
        boolean snoop = unit.pageWalkSnoop();
        long[] e;
        switch (dom.type()) {
            case IDENTITY:
                e = PasidEntry.passThrough(dom.did(), VtdParams.AGAW_48, snoop);
                break;
            case SVA:
                e = PasidEntry.firstLevel(dom.did(), dom.flptptr(), VtdParams.AGAW_48, 0, snoop);
                break;
            default:
                e = PasidEntry.secondLevel(dom.did(), dom.table().root(), VtdParams.AGAW_48, snoop);
                break;
        }
        slot.write(PasidEntry.withPresent(e));
        pasidFlushCaches(slot, pasid, dom.did());
    }

    private void pasidFlushCaches(PasidTable.Slot slot, int pasid, int did) {
        clflush(slot.pa(), PasidEntry.BYTES, Command.FLUSH_PASID_ENTRY);
        if (unit.cachingMode()) {
            submit(Command.pasidCache(Command.PC_PASID, did, pasid));
            submit(Command.pasidIotlb(did, pasid));
        } else {
            writeBufferFlush();
        }
    }

    /** intel_pasid_tear_down_entry, step by step (rule 96). */
    private void tearDown(Dev d, int pasid) {
        PasidTable.Slot slot = d.table.entry(pasid, false);
        if (slot == null) {
            return;
        }
        long[] e = slot.read();
        if (!PasidEntry.present(e)) {
            return;
        }
        int did = PasidEntry.did(e);
        int pgtt = PasidEntry.pgtt(e);
        slot.write(PasidEntry.cleared(params.faultIgnore));
        clflush(slot.pa(), PasidEntry.BYTES, Command.FLUSH_PASID_ENTRY);
        submit(Command.pasidCache(Command.PC_PASID, did, pasid));
        if (pgtt == PasidEntry.PGTT_PT || pgtt == PasidEntry.PGTT_FL_ONLY) {
            submit(Command.pasidIotlb(did, pasid));
        } else {
            submit(Command.iotlbDomain(did));
        }
        if (!unit.cachingMode()) {
            devTlbFlush(d, pasid); // device IOTLB needs no flush in caching mode
        }
    }

    /** devtlb_invalidation_with_pasid: only for devices with ATS enabled. */
    private void devTlbFlush(Dev d, int pasid) {
        if (!unit.devTlb()) {
            return;
        }
        if (pasid == 0) {
            submit(Command.devTlb(d.rid, d.rid, ATS_QDEP, 0, Command.DEVTLB_ALL));
        } else {
            submit(Command.pasidDevTlb(d.rid, d.rid, pasid, ATS_QDEP, 0, Command.DEVTLB_ALL));
        }
    }

    // ------------------------------------------------------------------ flushes

    private void submit(Command c) {
        unit.queue.submit(List.of(c));
    }

    private void writeBufferFlush() {
        if (unit.rwbf()) {
            unit.queue.note(Command.writeBufferFlush()); // a no-op without CAP.RWBF
        }
    }

    private void clflush(long pa, int bytes, int what) {
        if (!unit.coherent()) {
            unit.queue.note(Command.clflush(pa, bytes, what));
        }
    }

    private void clflushNote(Command c) {
        if (!unit.coherent()) {
            unit.queue.note(c);
        }
    }

    /** The page-selective address and mask covering [start, end] (calculate_psi_aligned_address). */
    static long[] psi(long start, long end) {
        long startPfn = start >>> PhysMem.PAGE_SHIFT;
        long endPfn = end >>> PhysMem.PAGE_SHIFT;
        long pages = endPfn - startPfn + 1;
        int mask = pages <= 1 ? 0 : 64 - Long.numberOfLeadingZeros(pages - 1);
        while (mask < 52 && (startPfn >>> mask) != (endPfn >>> mask)) {
            mask++;
        }
        return new long[] {(startPfn >>> mask) << mask << PhysMem.PAGE_SHIFT, mask};
    }

    /** The unmap flush of a paging domain (cache_tag_flush_range), one batch. */
    void flushRange(VtdDomain dom, long start, long end) {
        lock.lock();
        try {
            if (dom.freed() || dom.attachments.isEmpty()) {
                return;
            }
            long[] psi = psi(start, end);
            long addr = psi[0];
            int mask = (int) psi[1];
            List<Command> batch = new ArrayList<>();
            batch.add(iotlbFor(dom, addr, mask));
            if (unit.devTlb()) {
                for (VtdDomain.Attach a : dom.attachments) {
                    batch.add(a.pasid() == 0 ? Command.devTlb(a.rid(), a.rid(), ATS_QDEP, addr, mask)
                            : Command.pasidDevTlb(a.rid(), a.rid(), a.pasid(), ATS_QDEP, addr,
                                    mask));
                }
            }
            unit.queue.submit(batch);
        } finally {
            lock.unlock();
        }
    }

    private Command iotlbFor(VtdDomain dom, long addr, int mask) {
        // fall back to domain-selective when the range is beyond CAP.MAMV
        return mask > unit.mamv() ? Command.iotlbDomain(dom.did())
                : Command.iotlbPage(dom.did(), addr, mask, false);
    }

    /** After a map: caching mode caches misses, so flush them; otherwise the write buffer. */
    void syncMap(VtdDomain dom, long iova, long size) {
        lock.lock();
        try {
            if (dom.freed() || dom.attachments.isEmpty() || size <= 0) {
                return;
            }
            if (unit.cachingMode()) {
                long[] psi = psi(iova, iova + size - 1);
                unit.queue.submit(List.of(iotlbFor(dom, psi[0], (int) psi[1])));
            } else {
                writeBufferFlush();
            }
        } finally {
            lock.unlock();
        }
    }

    /** Everything the domain may have cached: its DID (or its PASIDs) and the device TLBs. */
    void flushAll(VtdDomain dom) {
        lock.lock();
        try {
            if (dom.freed() || dom.attachments.isEmpty() || dom.type() == DomainType.BLOCKED) {
                return;
            }
            List<Command> batch = new ArrayList<>();
            if (dom.type() == DomainType.SVA) {
                new java.util.TreeSet<>(dom.attachments.stream().map(VtdDomain.Attach::pasid)
                        .toList()).forEach(p -> batch.add(Command.pasidIotlb(dom.did(), p)));
            } else {
                batch.add(Command.iotlbDomain(dom.did()));
            }
            if (unit.devTlb()) {
                for (VtdDomain.Attach a : dom.attachments) {
                    batch.add(a.pasid() == 0
                            ? Command.devTlb(a.rid(), a.rid(), ATS_QDEP, 0, Command.DEVTLB_ALL)
                            : Command.pasidDevTlb(a.rid(), a.rid(), a.pasid(), ATS_QDEP, 0,
                                    Command.DEVTLB_ALL));
                }
            }
            unit.queue.submit(batch);
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ translation probe

    Walk translate(String device, int pasid, long iova, Access access) {
        if (access == null || pasid < 0) {
            throw new IoasidException(Errno.EINVAL, "probe with PASID " + pasid + ", " + access);
        }
        DmarUnit.Hw hw;
        VtdDomain named;
        lock.lock();
        try {
            Dev d = dev(device);
            hw = unit.translate(d.rid, pasid, iova, access);
            named = hw.did() > DID_RESERVED ? byDid.get(hw.did()) : null;
            if (named == null && hw.kind() == DmarUnit.Hw.Kind.FAULT) {
                // the unit knows no domain here: name the one the driver installed (BLOCKED, say)
                named = pasid == 0 ? d.domain : d.pasids.get(pasid);
            }
        } finally {
            lock.unlock();
        }
        switch (hw.kind()) {
            case TRANSLATED:
                return named != null ? Walk.translated(hw.phys(), named)
                        : Walk.fault("SCT_INVALID_DID: DID " + hw.did() + " names no domain", null);
            case BYPASS:
                return Walk.bypass(named);
            case FIRST_LEVEL:
                if (named == null || named.mm() == null || named.flptptr() != hw.flptptr()) {
                    return Walk.fault("SFL_INVALID_ROOT: FLPTPTR 0x"
                            + Long.toHexString(hw.flptptr()) + " is no process page table", named);
                }
                // the process page table is walked outside the lock (a call out of the unit)
                long pa = named.mm().translate(iova, access);
                return pa < 0 ? Walk.fault("SFL_NOT_PRESENT: no first-level mapping for 0x"
                        + Long.toHexString(iova) + " (" + access + ")", named)
                        : Walk.translated(pa, named);
            default:
                return Walk.fault(hw.fault(), named);
        }
    }

    // ------------------------------------------------------------------ vIOMMU

    VtdViommu viommuAlloc(BackendDomain nestingParent) {
        lock.lock();
        try {
            VtdDomain dom = own(nestingParent);
            if (!nestingSupported()) {
                throw new IoasidException(Errno.EOPNOTSUPP, name + " has no nesting (ECAP.NEST)");
            }
            if (!dom.nestingParent()) {
                throw new IoasidException(Errno.EINVAL, dom + " is not a nesting parent");
            }
            VtdViommu v = new VtdViommu(this, dom);
            viommus.add(v);
            return v;
        } finally {
            lock.unlock();
        }
    }

    void viommuDestroyed(VtdViommu v) {
        lock.lock();
        try {
            viommus.remove(v);
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ inspection for tests

    Dev device(String device) {
        lock.lock();
        try {
            return dev(device);
        } finally {
            lock.unlock();
        }
    }

    /** A copy of a device's PASID entry, or null when its table page does not exist. */
    long[] pasidEntry(String device, int pasid) {
        lock.lock();
        try {
            PasidTable.Slot s = dev(device).table.entry(pasid, false);
            return s == null ? null : s.read();
        } finally {
            lock.unlock();
        }
    }

    long[] contextEntry(String device) {
        lock.lock();
        try {
            DmarUnit.CtxSlot s = unit.context(dev(device).rid, false);
            return s == null ? null : s.read();
        } finally {
            lock.unlock();
        }
    }

    VtdDomain domainOf(String device, int pasid) {
        lock.lock();
        try {
            Dev d = dev(device);
            return pasid == 0 ? d.domain : d.pasids.get(pasid);
        } finally {
            lock.unlock();
        }
    }

    /** Submits descriptors as a driver would; for tests that play a driver with a bug. */
    void submitForTest(Command... batch) {
        lock.lock();
        try {
            unit.queue.submit(List.of(batch));
        } finally {
            lock.unlock();
        }
    }

    /** Everything a failed call must leave alone: memory, caches, queue, domain IDs, books. */
    String stateDigest() {
        lock.lock();
        try {
            StringBuilder sb = new StringBuilder();
            sb.append(unit.mem.digest()).append('|').append(unit.cacheDigest()).append('|')
                    .append(unit.queue.mark()).append('|').append(dids).append('|');
            for (Dev d : devices.values()) {
                sb.append(d.name()).append('=').append(d.domain).append(d.pasids)
                        .append(d.contextSet).append(';');
            }
            for (VtdDomain v : byDid.values()) {
                sb.append(v).append(v.attachments);
            }
            return sb.toString();
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return name + " (" + params + ")";
    }
}

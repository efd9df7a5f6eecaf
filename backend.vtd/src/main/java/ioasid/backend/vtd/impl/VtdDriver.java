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
import java.util.function.Supplier;

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
 * The intel-iommu driver for one DMAR unit, over the hardware model in DmarUnit: its books
 * (devices, domain IDs, vIOMMUs), the order of each call's table writes and invalidations, and
 * the lock they run under. The device's context entry is VtdDevice's, the PASID entries'
 * setup and teardown order PasidTable's (rules 95, 96), the flushes CacheFlush's.
 *
 * Rules:
 *  1. attachDev programs the device's RID_PASID entry (PASID 0) in scalable mode, its context
 *     entry in legacy mode; setDevPasid programs entry `pasid`, after the context entry.
 *  2. setDevPasid checks before it writes: legacy mode -> EOPNOTSUPP; PASID 0, RID_PASID, ->
 *     EINVAL; a PASID past the device's table -> ENODEV (rule 95); a present entry -> EBUSY.
 *  3. A domain switch of PASID 0 is teardown then setup, as device_block_translation then
 *     dmar_domain_attach_device do; attaching the domain a device is on is a no-op (rule 44).
 *     A PASID's replace is VtdReplace's: the entry is rewritten in place (rule 110, D25).
 *  4. Every argument is checked before anything is written: a failed call changes no table, no
 *     cache and sends no descriptor.
 *  5. One lock guards the unit (tables, caches, queue) and the driver's books. Page tables have
 *     their own lock per domain and are never changed under this one; translate reads them
 *     lock-free, as the hardware does. The process page table of an SVA walk is called after the
 *     lock is released.
 *  6. Once closed (the component deactivated) every configuration call and translation probe
 *     is ENODEV: a unit that left serves nothing and changes no table (D17).
 */
final class VtdDriver {
    /** DID 0 is reserved (caching mode tags non-present entries with it). */
    static final int DID_RESERVED = 0;
    /** FLPT_DEFAULT_DID, kept out of the domain ID allocator as intel-iommu does. */
    static final int FLPT_DEFAULT_DID = 1;

    private volatile String name;
    private final VtdParams params;
    private final DmarUnit unit;
    private final CacheFlush flush;
    private final IommuCaps caps;
    final ReentrantLock lock = new ReentrantLock();
    private final Map<String, VtdDevice> devices = new LinkedHashMap<>();
    private volatile List<DeviceInfo> deviceInfos = List.of();
    private final BitSet dids = new BitSet();
    private final Map<Integer, VtdDomain> byDid = new HashMap<>();
    private final Set<VtdViommu> viommus = new HashSet<>();
    /** Guarded by the lock. */
    private boolean closed;

    VtdDriver(String name, VtdParams params, List<DeviceInfo> devices) {
        this.name = name;
        this.params = params;
        this.unit = new DmarUnit(params);
        this.flush = new CacheFlush(unit);
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

    /** The unit leaves with its component: every later call is ENODEV (rule 6). */
    void close() {
        lock.lock();
        try {
            closed = true;
        } finally {
            lock.unlock();
        }
    }

    /** The caller holds the lock. */
    void checkOpen() {
        if (closed) {
            throw new IoasidException(Errno.ENODEV, "DMAR unit " + name + " has stopped");
        }
    }

    // ------------------------------------------------------------------ devices

    /** Applies a device list: released devices lose their entries, new ones get tables. */
    void setDevices(List<DeviceInfo> list) {
        VtdDevice.validate(list);
        lock.lock();
        try {
            Map<String, DeviceInfo> wanted = new LinkedHashMap<>();
            for (DeviceInfo d : list) {
                wanted.put(d.name(), d);
            }
            for (VtdDevice d : new ArrayList<>(devices.values())) {
                if (!d.info.equals(wanted.get(d.name()))) {
                    releaseDevice(d);
                }
            }
            for (DeviceInfo info : list) {
                if (!devices.containsKey(info.name())) {
                    devices.put(info.name(), new VtdDevice(info, unit, flush));
                }
            }
            deviceInfos = List.copyOf(list);
        } finally {
            lock.unlock();
        }
    }

    /** intel_iommu_release_device: every entry torn down, the context cleared, tables freed. */
    private void releaseDevice(VtdDevice d) {
        d.release();
        forget(d, 0, d.domain);
        for (Map.Entry<Integer, VtdDomain> e : d.pasids.entrySet()) {
            forget(d, e.getKey(), e.getValue());
        }
        devices.remove(d.name());
    }

    VtdDevice dev(String device) {
        VtdDevice d = device == null ? null : devices.get(device);
        if (d == null) {
            throw new IoasidException(Errno.ENODEV, "no device " + device + " behind " + name);
        }
        return d;
    }

    int rid(String device) {
        return locked(() -> dev(device).rid);
    }

    // ------------------------------------------------------------------ domains

    VtdDomain own(BackendDomain domain) {
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
            checkOpen();
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
            checkOpen();
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

    static void remember(VtdDevice d, int pasid, VtdDomain dom) {
        if (dom != null) {
            dom.attachments.add(new VtdDomain.Attach(d.name(), d.rid, pasid));
        }
    }

    static void forget(VtdDevice d, int pasid, VtdDomain dom) {
        if (dom != null) {
            dom.attachments.remove(new VtdDomain.Attach(d.name(), d.rid, pasid));
        }
    }

    // ------------------------------------------------------------------ attach

    void attachDev(String device, BackendDomain domain) {
        lock.lock();
        try {
            checkOpen();
            VtdDevice d = dev(device);
            VtdDomain dom = own(domain);
            if (dom.type() == DomainType.SVA) {
                throw new IoasidException(Errno.EINVAL, "an SVA domain is attached at a PASID");
            }
            if (d.domain == dom) {
                return; // rule 44: attaching the current domain again is a no-op
            }
            if (unit.scalable()) {
                if (dom.type() != DomainType.BLOCKED) {
                    d.setUpContext();
                }
                d.table.tearDown(0); // device_block_translation
                if (dom.type() != DomainType.BLOCKED) {
                    d.table.setUp(0, dom);
                }
            } else {
                d.legacyClear();
                if (dom.type() != DomainType.BLOCKED) {
                    d.legacySet(dom);
                }
            }
            forget(d, 0, d.domain);
            d.domain = dom;
            remember(d, 0, dom);
        } finally {
            lock.unlock();
        }
    }

    void detachDev(String device) {
        lock.lock();
        try {
            checkOpen();
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
            checkOpen();
            VtdDevice d = dev(device);
            VtdDomain dom = own(domain);
            checkPasid(d, pasid);
            if (dom.type() == DomainType.BLOCKED) {
                // blocking_domain_set_dev_pasid: the entry goes away
                d.table.tearDown(pasid);
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
                d.setUpContext();
                d.table.setUp(pasid, dom);
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
            checkOpen();
            VtdDevice d = dev(device);
            VtdDomain dom = own(domain);
            checkPasid(d, pasid);
            VtdDomain cur = d.pasids.get(pasid);
            if (cur != null && cur != dom) {
                throw new IoasidException(Errno.EINVAL, "PASID " + pasid + " of " + device
                        + " is on " + cur + ", not " + dom);
            }
            d.table.tearDown(pasid);
            d.pasids.remove(pasid);
            forget(d, pasid, dom);
        } finally {
            lock.unlock();
        }
    }

    void checkPasid(VtdDevice d, int pasid) {
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

    // ------------------------------------------------------------------ flushes

    /** The unmap flush of a paging domain that is installed somewhere. */
    void flushRange(VtdDomain dom, long start, long end) {
        lock.lock();
        try {
            if (dom.freed() || dom.attachments.isEmpty()) {
                return;
            }
            flush.range(dom, start, end);
        } finally {
            lock.unlock();
        }
    }

    /** The flush after a map into a domain that is installed somewhere. */
    void syncMap(VtdDomain dom, long iova, long size) {
        lock.lock();
        try {
            if (dom.freed() || dom.attachments.isEmpty() || size <= 0) {
                return;
            }
            flush.afterMap(dom, iova, size);
        } finally {
            lock.unlock();
        }
    }

    /** Everything a domain installed somewhere may have cached. */
    void flushAll(VtdDomain dom) {
        lock.lock();
        try {
            if (dom.freed() || dom.attachments.isEmpty()) {
                return;
            }
            flush.all(dom);
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
            checkOpen();
            VtdDevice d = dev(device);
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
            checkOpen();
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

    /** Reads driver state under the lock (not for hot paths: it takes a lambda). */
    private <T> T locked(Supplier<T> read) {
        lock.lock();
        try {
            return read.get();
        } finally {
            lock.unlock();
        }
    }

    VtdDevice device(String device) {
        return locked(() -> dev(device));
    }

    /** A copy of a device's PASID entry, or null when its table page does not exist. */
    long[] pasidEntry(String device, int pasid) {
        return locked(() -> {
            PasidTable.Slot s = dev(device).table.entry(pasid, false);
            return s == null ? null : s.read();
        });
    }

    long[] contextEntry(String device) {
        return locked(() -> {
            DmarUnit.CtxSlot s = unit.context(dev(device).rid, false);
            return s == null ? null : s.read();
        });
    }

    VtdDomain domainOf(String device, int pasid) {
        return locked(() -> {
            VtdDevice d = dev(device);
            return pasid == 0 ? d.domain : d.pasids.get(pasid);
        });
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
            for (VtdDevice d : devices.values()) {
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

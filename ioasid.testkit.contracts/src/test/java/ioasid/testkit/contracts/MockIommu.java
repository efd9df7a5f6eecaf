package ioasid.testkit.contracts;

import java.util.ArrayList;
import java.util.Collections;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.BackendViommu;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.api.iommu.spi.IommuBackend;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/*
 * A small IOMMU in the spirit of the kernel's iommufd selftest mock driver: a page table per
 * domain (a sorted map of leaves), an IOTLB and a PASID-entry cache that only invalidations
 * clear, and a log of what it did. Each Mutation breaks one contract the way a real driver
 * could get it wrong, so that the suite can be shown to catch it.
 *
 * Configuration calls are synchronized on the instance (the core makes them one at a time);
 * probes and page-table calls read concurrent maps and lock a domain's table alone.
 */
final class MockIommu implements IommuBackend {
    enum Mutation {
        /** iotlbSync returns at once and invalidates later, on another thread. */
        LAZY_SYNC,
        /** A switch passes through the domain the device was on before the old one. */
        THIRD_DOMAIN,
        /** removeDevPasid clears the entry but not the PASID-entry cache. */
        STALE_PASID_CACHE,
        /** setDevPasid checks the IOMMU's PASID limit, not the device's. */
        IGNORES_DEVICE_WIDTH,
        /** Leaving changes nothing: every call still works. */
        SERVES_AFTER_LEAVING,
        /** unmap skips holes instead of stopping at the first one. */
        UNMAPS_PAST_HOLES,
        /** A map that meets a mapped page keeps the pages it mapped before it. */
        PARTIAL_MAP_ON_EEXIST,
        /** A write through a read-only mapping goes through. */
        IGNORES_PROT,
        /** flushIotlbAll does nothing. */
        FLUSH_ALL_IGNORED,
        /** iotlbSyncMap leaves the misses the IOTLB cached. */
        MAP_NOT_SYNCED,
        /** Attaching the domain a device is on already is EBUSY. */
        REATTACH_REFUSED,
        /** PASID 0 is taken for DMA without PASID and replaces its domain. */
        PASID_ZERO_ACCEPTED,
        /** A PASID set again goes to the new domain instead of EBUSY. */
        PASID_OVERWRITTEN,
        /** A device without an entry for a PASID uses another device's. */
        PASID_LEAKS_ACROSS_DEVICES,
        /** refusedChange() keeps its reason after a change is accepted. */
        REFUSAL_STICKS,
        /** A released device still counts as a user of its domains. */
        RELEASE_KEEPS_USERS,
        /** A refused configuration throws instead of giving a FAILED instance. */
        THROWS_ON_REFUSAL,
        /** Paging domains claim a page size the caps do not name. */
        PAGE_SIZES_BEYOND_CAPS,
        /** A freed domain answers no page sizes. */
        FORGETS_PAGE_SIZES,
        /** A nesting parent is allocated as a plain domain. */
        NESTING_IGNORED,
        /** The blocking domain lets DMA through. */
        BLOCKED_BYPASSES,
        /** A replace takes the device off its domain before it checks the new one. */
        REPLACE_DROPS_OLD_FIRST,
        /** A PASID's replace changes nothing. */
        PASID_REPLACE_IGNORED
    }

    static final long K4 = 1L << 12;
    static final long M2 = 1L << 21;
    /** The IOTLB's entry for a page it found unmapped. */
    private static final long[] MISS = {-1, 0};

    private final Set<Mutation> mutations;
    private final IommuCaps caps = IommuCaps.builder("mock").maxPasids(1 << 8)
            .pgsizeBitmap(K4 | M2).addressBits(48, 48).defaultDomains(true).build();
    private final Map<String, Dev> devices = new ConcurrentHashMap<>();
    /** (domain, 4 KiB page) -> {physical page, prot}. */
    private final Map<List<Long>, long[]> iotlb = new ConcurrentHashMap<>();
    /** "device/pasid" -> the domain of the entry when it was read. */
    private final Map<String, MockDomain> pasidCache = new ConcurrentHashMap<>();
    private final List<String> log = Collections.synchronizedList(new ArrayList<>());
    private final AtomicLong domainIds = new AtomicLong();
    private volatile boolean closed;
    private volatile String failure;
    private volatile String refused;

    MockIommu(List<DeviceInfo> devices, Set<Mutation> mutations) {
        this.mutations = mutations.isEmpty() ? EnumSet.noneOf(Mutation.class)
                : EnumSet.copyOf(mutations);
        try {
            configure(devices);
        } catch (IllegalArgumentException e) {
            if (has(Mutation.THROWS_ON_REFUSAL)) {
                throw e;
            }
            failure = e.getMessage();
        }
    }

    private boolean has(Mutation m) {
        return mutations.contains(m);
    }

    /** One endpoint: the domain its DMA without PASID reaches, and its PASID entries. */
    private static final class Dev {
        final DeviceInfo info;
        volatile MockDomain rid;
        /** The domain before {@link #rid}, for the THIRD_DOMAIN mutation. */
        MockDomain before;
        final Map<Integer, MockDomain> pasids = new ConcurrentHashMap<>();

        Dev(DeviceInfo info) {
            this.info = info;
        }
    }

    // ------------------------------------------------------------------ life cycle

    synchronized void reconfigure(List<DeviceInfo> list) {
        try {
            configure(list);
            failure = null;
            if (!has(Mutation.REFUSAL_STICKS)) {
                refused = null;
            }
        } catch (IllegalArgumentException e) {
            if (failure != null) {
                failure = e.getMessage();
            } else {
                refused = e.getMessage();
            }
        }
    }

    private void configure(List<DeviceInfo> list) {
        Set<String> names = new HashSet<>();
        Set<Long> sids = new HashSet<>();
        for (DeviceInfo d : list) {
            if (!names.add(d.name()) || !sids.add(d.streamId())) {
                throw new IllegalArgumentException("device " + d.name() + " listed twice");
            }
        }
        Map<String, DeviceInfo> wanted = new LinkedHashMap<>();
        list.forEach(d -> wanted.put(d.name(), d));
        for (Dev d : new ArrayList<>(devices.values())) {
            if (!d.info.equals(wanted.get(d.info.name()))) {
                release(d);
            }
        }
        for (DeviceInfo d : list) {
            devices.computeIfAbsent(d.name(), n -> new Dev(d));
        }
    }

    private void release(Dev d) {
        boolean keep = has(Mutation.RELEASE_KEEPS_USERS);
        if (d.rid != null && !keep) {
            d.rid.users--;
        }
        for (Map.Entry<Integer, MockDomain> e : d.pasids.entrySet()) {
            if (!keep) {
                e.getValue().users--;
            }
            pasidCache.remove(d.info.name() + "/" + e.getKey());
        }
        devices.remove(d.info.name());
    }

    void leave() {
        closed = !has(Mutation.SERVES_AFTER_LEAVING);
    }

    private void checkOpen() {
        if (closed || failure != null) {
            throw new IoasidException(Errno.ENODEV, "mock IOMMU "
                    + (closed ? "left" : "FAILED: " + failure));
        }
    }

    @Override
    public String failure() {
        return failure;
    }

    @Override
    public String refusedChange() {
        return refused;
    }

    // ------------------------------------------------------------------ IommuBackend

    @Override
    public IommuCaps caps() {
        return caps;
    }

    @Override
    public List<DeviceInfo> devices() {
        List<DeviceInfo> out = new ArrayList<>();
        devices.values().forEach(d -> out.add(d.info));
        return out;
    }

    private Dev dev(String name) {
        Dev d = devices.get(name);
        if (d == null) {
            throw new IoasidException(Errno.ENODEV, "no device " + name);
        }
        return d;
    }

    private MockDomain own(BackendDomain domain) {
        if (!(domain instanceof MockDomain m) || m.iommu() != this || m.freed) {
            throw new IoasidException(Errno.EINVAL, domain + " is not a live domain of this "
                    + "mock");
        }
        return m;
    }

    @Override
    public synchronized BackendDomain domainAlloc(DomainType type, boolean nestingParent) {
        checkOpen();
        if (nestingParent && has(Mutation.NESTING_IGNORED)) {
            nestingParent = false;
        }
        if (nestingParent || type == null || type == DomainType.SVA) {
            throw new IoasidException(Errno.EOPNOTSUPP, "no " + type + " domains"
                    + (nestingParent ? " as nesting parents" : ""));
        }
        return new MockDomain(domainIds.incrementAndGet(), type);
    }

    @Override
    public synchronized BackendDomain svaDomainAlloc(ProcessAddressSpace mm) {
        checkOpen();
        throw new IoasidException(Errno.EOPNOTSUPP, "no SVA");
    }

    @Override
    public synchronized void attachDev(String device, BackendDomain domain) {
        checkOpen();
        Dev d = dev(device);
        MockDomain to = own(domain);
        MockDomain old = d.rid;
        if (old == to) {
            if (has(Mutation.REATTACH_REFUSED)) {
                throw new IoasidException(Errno.EBUSY, device + " is on " + to + " already");
            }
            return;
        }
        if (has(Mutation.THIRD_DOMAIN) && d.before != null && d.before != to && d.before != old
                && !d.before.freed) {
            d.rid = d.before; // the bug: an earlier domain's pointer is live for a moment
            pause();
        }
        d.rid = to;
        d.before = old;
        if (old != null) {
            old.users--;
        }
        to.users++;
        log.add("attach " + device + " " + to);
    }

    /** The SPI's default, but for the mutants. */
    @Override
    public synchronized void replaceDev(String device, BackendDomain old, BackendDomain domain) {
        checkOpen();
        Dev d = dev(device);
        if (has(Mutation.REPLACE_DROPS_OLD_FIRST) && d.rid != null) {
            d.rid.users--;
            d.rid = null; // the bug: a refused domain below leaves the device on none
        }
        own(domain);
        attachDev(device, domain);
    }

    /** The SPI's default, but for the mutants. */
    @Override
    public synchronized void replaceDevPasid(String device, int pasid, BackendDomain old,
            BackendDomain domain) {
        checkOpen();
        if (has(Mutation.PASID_REPLACE_IGNORED)) {
            own(domain);
            return;
        }
        IommuBackend.super.replaceDevPasid(device, pasid, old, domain);
    }

    private static void pause() {
        try {
            Thread.sleep(2);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public synchronized void detachDev(String device) {
        checkOpen();
        throw new IoasidException(Errno.EOPNOTSUPP, "the mock uses default domains");
    }

    private int limit(Dev d) {
        if (has(Mutation.IGNORES_DEVICE_WIDTH)) {
            return caps.maxPasids();
        }
        int bits = d.info.pasidBits();
        return bits == 0 ? 0 : Math.min(1 << bits, caps.maxPasids());
    }

    @Override
    public synchronized void setDevPasid(String device, int pasid, BackendDomain domain) {
        checkOpen();
        Dev d = dev(device);
        MockDomain to = own(domain);
        if (pasid == 0 && has(Mutation.PASID_ZERO_ACCEPTED)) {
            d.rid = to;
            return;
        }
        if (pasid <= 0 || pasid >= limit(d)) {
            throw new IoasidException(Errno.EINVAL, "PASID " + pasid + " of " + device);
        }
        MockDomain cur = d.pasids.get(pasid);
        if (cur == to) {
            return;
        }
        if (cur != null && !has(Mutation.PASID_OVERWRITTEN)) {
            throw new IoasidException(Errno.EBUSY, "PASID " + pasid + " is on " + cur);
        }
        if (cur != null) {
            cur.users--;
        }
        d.pasids.put(pasid, to);
        to.users++;
        pasidCache.remove(device + "/" + pasid);
        log.add("set " + device + " pasid " + pasid + " " + to);
    }

    @Override
    public synchronized void removeDevPasid(String device, int pasid, BackendDomain domain) {
        checkOpen();
        Dev d = dev(device);
        MockDomain m = own(domain);
        if (d.pasids.get(pasid) != m) {
            throw new IoasidException(Errno.EINVAL, "PASID " + pasid + " is not on " + m);
        }
        d.pasids.remove(pasid);
        m.users--;
        if (!has(Mutation.STALE_PASID_CACHE)) {
            pasidCache.remove(device + "/" + pasid);
        }
        log.add("remove " + device + " pasid " + pasid);
    }

    @Override
    public Walk translate(String device, int pasid, long iova, Access access) {
        checkOpen();
        Dev d = dev(device);
        MockDomain dom;
        if (pasid == 0) {
            dom = d.rid;
        } else {
            String key = device + "/" + pasid;
            dom = pasidCache.get(key);
            if (dom == null) {
                dom = d.pasids.get(pasid);
                if (dom == null && has(Mutation.PASID_LEAKS_ACROSS_DEVICES)) {
                    for (Dev other : devices.values()) {
                        dom = dom != null ? dom : other.pasids.get(pasid);
                    }
                }
                if (dom != null) {
                    pasidCache.put(key, dom);
                }
            }
        }
        if (dom == null) {
            return Walk.fault("NO_ENTRY", null);
        }
        switch (dom.type) {
            case BLOCKED:
                return has(Mutation.BLOCKED_BYPASSES) ? Walk.bypass(dom)
                        : Walk.fault("BLOCKED", dom);
            case IDENTITY:
                return Walk.bypass(dom);
            default:
                break;
        }
        long page = iova & -K4;
        List<Long> key = List.of(dom.id, page);
        long[] e = iotlb.get(key);
        if (e == null) {
            long[] walked = dom.walk(page);
            // misses are cached too, as a VT-d unit in caching mode does: iotlbSyncMap drops them
            e = walked == null ? MISS : walked;
            iotlb.put(key, e);
        }
        if (e == MISS) {
            return Walk.fault("NOT_MAPPED", dom);
        }
        if (access == Access.WRITE && (e[1] & Prot.WRITE) == 0
                && !has(Mutation.IGNORES_PROT)) {
            return Walk.fault("PERMISSION", dom);
        }
        return Walk.translated(e[0] + (iova - page), dom);
    }

    @Override
    public synchronized BackendViommu viommuAlloc(BackendDomain nestingParent) {
        checkOpen();
        throw new IoasidException(Errno.EOPNOTSUPP, "no vIOMMUs");
    }

    @Override
    public List<String> commandLog() {
        synchronized (log) {
            return new ArrayList<>(log);
        }
    }

    private void invalidate(long domain, long first, long last) {
        iotlb.keySet().removeIf(k -> k.get(0) == domain && k.get(1) >= (first & -K4)
                && k.get(1) <= last);
    }

    // ------------------------------------------------------------------ domains

    final class MockDomain implements BackendDomain {
        final long id;
        final DomainType type;
        /** iova -> {size, pa, prot}; guarded by itself. */
        private final TreeMap<Long, long[]> table = new TreeMap<>();
        /** Devices and PASIDs on it; guarded by the mock. */
        int users;
        volatile boolean freed;

        MockDomain(long id, DomainType type) {
            this.id = id;
            this.type = type;
        }

        MockIommu iommu() {
            return MockIommu.this;
        }

        @Override
        public DomainType type() {
            return type;
        }

        @Override
        public long pgsizeBitmap() {
            if (!type.isPaging() || freed && has(Mutation.FORGETS_PAGE_SIZES)) {
                return 0;
            }
            return has(Mutation.PAGE_SIZES_BEYOND_CAPS) ? K4 | M2 | 1L << 30 : K4 | M2;
        }

        @Override
        public long apertureEnd() {
            return type.isPaging() ? (1L << 48) - 1 : 0;
        }

        private Map.Entry<Long, long[]> leafAt(long iova) {
            Map.Entry<Long, long[]> e = table.floorEntry(iova);
            return e != null && e.getKey() + e.getValue()[0] > iova ? e : null;
        }

        /** The physical page and prot that {@code page} maps to, or null. */
        long[] walk(long page) {
            synchronized (table) {
                Map.Entry<Long, long[]> e = leafAt(page);
                return e == null ? null : new long[] {e.getValue()[1] + (page - e.getKey()),
                    e.getValue()[2]};
            }
        }

        @Override
        public void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
            synchronized (table) {
                if (!type.isPaging() || freed) {
                    throw new IoasidException(Errno.EINVAL, this + " maps nothing");
                }
                for (long i = 0; i < count; i++) {
                    long va = iova + i * pgsize;
                    Map.Entry<Long, long[]> clash = table.floorEntry(va + pgsize - 1);
                    if (clash != null && clash.getKey() + clash.getValue()[0] > va) {
                        if (!has(Mutation.PARTIAL_MAP_ON_EEXIST)) {
                            for (long j = 0; j < i; j++) {
                                table.remove(iova + j * pgsize);
                            }
                        }
                        throw new IoasidException(Errno.EEXIST, "0x" + Long.toHexString(va)
                                + " is mapped");
                    }
                    table.put(va, new long[] {pgsize, paddr + i * pgsize, prot});
                }
            }
        }

        @Override
        public long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
            synchronized (table) {
                long end = iova + pgsize * count;
                long cur = iova;
                long unmapped = 0;
                while (cur < end) {
                    Map.Entry<Long, long[]> e = leafAt(cur);
                    if (e == null) {
                        if (!has(Mutation.UNMAPS_PAST_HOLES)) {
                            break;
                        }
                        cur += pgsize;
                        continue;
                    }
                    long size = e.getValue()[0];
                    table.remove(e.getKey());
                    gather.add(e.getKey(), size, size);
                    unmapped += size;
                    cur = e.getKey() + size;
                }
                return unmapped;
            }
        }

        @Override
        public long iovaToPhys(long iova) {
            long[] p = walk(iova & -K4);
            return p == null ? 0 : p[0] + (iova & (K4 - 1));
        }

        @Override
        public void iotlbSync(IotlbGather gather) {
            long first = gather.start();
            long last = gather.end();
            if (has(Mutation.LAZY_SYNC)) {
                Thread later = new Thread(() -> {
                    pause();
                    try {
                        Thread.sleep(300);
                    } catch (InterruptedException e) {
                        return;
                    }
                    invalidate(id, first, last);
                }, "mock-lazy-sync");
                later.setDaemon(true);
                later.start();
                return;
            }
            invalidate(id, first, last);
        }

        /** Drops the misses the IOTLB cached in the range: they are mapped now. */
        @Override
        public void iotlbSyncMap(long iova, long size) {
            if (!has(Mutation.MAP_NOT_SYNCED)) {
                long last = iova + size - 1;
                iotlb.entrySet().removeIf(en -> en.getValue() == MISS
                        && en.getKey().get(0) == id && en.getKey().get(1) >= (iova & -K4)
                        && en.getKey().get(1) <= last);
            }
        }

        @Override
        public void flushIotlbAll() {
            if (!has(Mutation.FLUSH_ALL_IGNORED)) {
                invalidate(id, 0, Long.MAX_VALUE);
            }
        }

        @Override
        public void free() {
            synchronized (MockIommu.this) {
                if (users > 0) {
                    throw new IoasidException(Errno.EBUSY, this + " is in use");
                }
                freed = true;
                invalidate(id, 0, Long.MAX_VALUE);
            }
        }

        @Override
        public String toString() {
            return "mock domain " + id + " " + type.sysfsName();
        }
    }
}

package ioasid.backend.virtio.impl;

import static ioasid.api.Errno.EINVAL;

import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.IotlbGather;

/*
 * The driver's domain (struct viommu_domain): its own interval tree of mappings, kept for replay
 * and unmap bookkeeping, the domain ID it got on first attach, and how many endpoints are
 * attached. The device keeps the mappings that count for translation; this tree is what the
 * driver sends it. Every field that is not final is guarded by the driver's lock, which the
 * operations below take themselves.
 *
 * Rules (Linux viommu_map_pages, viommu_unmap_pages, viommu_iova_to_phys, viommu_iotlb_sync):
 *  1. mapPages sends one MAP for the whole call. Flags outside the device's (MMIO without the
 *     MMIO feature), a range outside the aperture or touching a reserved region -> EINVAL; a
 *     range overlapping the tree -> EEXIST (Linux inserts blindly and lets the device's INVAL
 *     answer; BackendDomain asks for EEXIST and an unchanged tree). A domain with no endpoint
 *     only records the mapping, for the replay.
 *  2. unmapPages removes whole mappings from its first address on, in order, stopping at a hole
 *     or at a mapping that starts before it (UNMAP cannot split a mapping), queues one UNMAP for
 *     what it removed, and returns those bytes, which may exceed the request. (Linux returns 0
 *     when fewer bytes than asked were mapped, after dropping them from its tree.)
 *  3. iovaToPhys reads the tree. There is no IOTLB: iotlbSync and flushIotlbAll only kick the
 *     request queue, so queued UNMAPs reach the device.
 *  4. An IDENTITY domain without ATTACH_F_BYPASS identity-maps the aperture around the reserved
 *     regions of the endpoint it is finalised for (viommu_domain_map_identity).
 */
final class VirtioIommuDomain implements BackendDomain {

    /** A mapping as the driver records it. */
    record Mapping(long paddr, int flags) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Mapping m && m.paddr == paddr && m.flags == flags;
        }

        @Override
        public int hashCode() {
            return 31 * Long.hashCode(paddr) + flags;
        }

        @Override
        public String toString() {
            return "Mapping[paddr=" + paddr + ", flags=" + flags + "]";
        }
    }

    final VirtioIommuDriver driver;
    final DomainType type;
    /** An IDENTITY domain attached with ATTACH_F_BYPASS (BYPASS_CONFIG negotiated). */
    final boolean bypass;

    long id = -1;
    final IntervalMap<Mapping> mappings = new IntervalMap<>();
    int nrEndpoints;
    boolean freed;

    VirtioIommuDomain(VirtioIommuDriver driver, DomainType type, boolean bypass) {
        this.driver = driver;
        this.type = type;
        this.bypass = bypass;
    }

    @Override
    public DomainType type() {
        return type;
    }

    @Override
    public long pgsizeBitmap() {
        return driver.pgsizeBitmap();
    }

    @Override
    public long apertureEnd() {
        return driver.apertureEnd();
    }

    private void checkLive() {
        driver.checkOpen();
        if (freed) {
            throw new IoasidException(EINVAL, this + " was freed");
        }
    }

    @Override
    public void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        ReentrantLock lock = driver.lock;
        lock.lock();
        try {
            checkLive();
            if (!type.isPaging()) {
                throw new IoasidException(EINVAL, "cannot map into a " + type + " domain");
            }
            long size = size(pgsize, count);
            if (size == 0 || (iova & pgsize - 1) != 0 || (paddr & pgsize - 1) != 0) {
                throw new IoasidException(EINVAL, "map of " + count + " x " + Request.hex(pgsize)
                        + " at " + Request.hex(iova) + " -> " + Request.hex(paddr)
                        + " is not aligned to a supported page size");
            }
            long end = iova + size - 1;
            if (Long.compareUnsigned(end, iova) < 0
                    || Long.compareUnsigned(iova, driver.apertureStart()) < 0
                    || Long.compareUnsigned(end, driver.apertureEnd()) > 0) {
                throw new IoasidException(EINVAL, "[" + Request.hex(iova) + ","
                        + Request.hex(end) + "] is outside the aperture");
            }
            int flags = ((prot & Prot.READ) != 0 ? Request.MAP_F_READ : 0)
                    | ((prot & Prot.WRITE) != 0 ? Request.MAP_F_WRITE : 0)
                    | ((prot & Prot.MMIO) != 0 ? Request.MAP_F_MMIO : 0);
            if ((flags & ~driver.mapFlags()) != 0) {
                throw new IoasidException(EINVAL, "MAP flags " + Request.flagString(flags)
                        + " not supported by the device");
            }
            ResvRegion resv = driver.reservedRegionIn(iova, end);
            if (resv != null) {
                throw new IoasidException(EINVAL, "[" + Request.hex(iova) + ","
                        + Request.hex(end) + "] touches reserved region " + resv);
            }
            if (mappings.overlaps(iova, end)) {
                throw new IoasidException(Errno.EEXIST, "[" + Request.hex(iova) + ","
                        + Request.hex(end) + "] is mapped already in " + this);
            }
            mappings.put(iova, end, new Mapping(paddr, flags));
            if (nrEndpoints > 0) {
                RequestRecord r = driver.queue.sendSync(new Request.Map(id, iova, end, paddr,
                        flags));
                if (!r.ok()) {
                    mappings.remove(iova);
                    throw VirtioIommuDriver.failure(r, "mapping");
                }
            }
        } finally {
            lock.unlock();
        }
    }

    /** pgsize * count for a supported page size, or 0 when the arguments are not valid. */
    private long size(long pgsize, long count) {
        if (Long.bitCount(pgsize) != 1 || (pgsize & driver.pgsizeBitmap()) == 0 || count <= 0) {
            return 0;
        }
        try {
            return Math.multiplyExact(pgsize, count);
        } catch (ArithmeticException e) {
            return 0;
        }
    }

    @Override
    public long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
        ReentrantLock lock = driver.lock;
        lock.lock();
        try {
            checkLive();
            long size = size(pgsize, count);
            if (!type.isPaging() || size == 0 || (iova & pgsize - 1) != 0) {
                return 0; // rule 58: nothing for a misaligned request or a non-paging domain
            }
            long end = iova + size - 1;
            long cursor = iova;
            long unmapped = 0;
            for (IntervalMap.Interval<Mapping> m : mappings.overlapping(iova, end)) {
                if (m.start() != cursor) {
                    break; // a hole, or a mapping from before iova that UNMAP cannot split
                }
                mappings.remove(m.start());
                unmapped += m.size();
                cursor = m.end() + 1;
            }
            if (unmapped == 0) {
                return 0;
            }
            if (nrEndpoints > 0) {
                driver.queue.add(new Request.Unmap(id, iova, iova + unmapped - 1));
            }
            if (gather != null) {
                gather.add(iova, unmapped, pgsize);
            }
            return unmapped;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public long iovaToPhys(long iova) {
        ReentrantLock lock = driver.lock;
        lock.lock();
        try {
            if (type == DomainType.IDENTITY && bypass) {
                return iova;
            }
            IntervalMap.Interval<Mapping> m = mappings.find(iova);
            return m == null ? 0 : m.value().paddr() + (iova - m.start());
        } finally {
            lock.unlock();
        }
    }

    /** MAP requests complete before mapPages returns: nothing is left to push. */
    @Override
    public void iotlbSyncMap(long iova, long size) {
    }

    /** Kicks the request queue and waits: queued UNMAPs reach the device (no IOTLB exists). */
    @Override
    public void iotlbSync(IotlbGather gather) {
        sync(gather);
    }

    @Override
    public void flushIotlbAll() {
        sync(null);
    }

    private void sync(IotlbGather gather) {
        ReentrantLock lock = driver.lock;
        lock.lock();
        try {
            checkLive();
            driver.queue.sync();
            if (gather != null) {
                gather.reset();
            }
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void free() {
        driver.freeDomain(this);
    }

    /** Identity-maps the aperture around an endpoint's reserved regions; under the driver lock. */
    void mapIdentity(List<ResvRegion> resv, long granule) {
        int flags = Request.MAP_F_READ | Request.MAP_F_WRITE;
        long iova = alignUp(driver.apertureStart(), granule);
        long limit = (driver.apertureEnd() + 1 & -granule) - 1;
        for (ResvRegion r : resv) {
            long resvStart = r.start() & -granule;
            long resvEnd = alignUp(r.end() + 1, granule) - 1;
            if (Long.compareUnsigned(resvEnd, iova) < 0
                    || Long.compareUnsigned(resvStart, limit) > 0) {
                continue;
            }
            if (Long.compareUnsigned(resvStart, iova) > 0) {
                mappings.put(iova, resvStart - 1, new Mapping(iova, flags));
            }
            if (Long.compareUnsigned(resvEnd, limit) >= 0) {
                return;
            }
            iova = resvEnd + 1;
        }
        mappings.put(iova, limit, new Mapping(iova, flags));
    }

    private static long alignUp(long v, long granule) {
        return v + granule - 1 & -granule;
    }

    /** The domain ID, or -1 before the first attach. */
    long domainId() {
        ReentrantLock lock = driver.lock;
        lock.lock();
        try {
            return id;
        } finally {
            lock.unlock();
        }
    }

    @Override
    public String toString() {
        return "virtio-iommu " + driver.name() + " " + type.sysfsName() + " domain"
                + (id >= 0 ? " " + id : "") + (bypass ? " (bypass)" : "");
    }
}

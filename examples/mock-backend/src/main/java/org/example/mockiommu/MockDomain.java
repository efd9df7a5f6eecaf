package org.example.mockiommu;

import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicInteger;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/**
 * A mock domain: for paging types, a page table of 4 KiB pages kept as a map from page number
 * to physical address and protection (the selftest keeps pfns in an xarray), and an IOTLB that
 * a translation fills and only {@link #iotlbSync} or {@link #flushIotlbAll} empties, so a
 * caller that forgets to invalidate sees the stale translation, as on hardware.
 */
final class MockDomain implements BackendDomain {
    static final long PAGE = 1L << 12;
    private static final AtomicInteger IDS = new AtomicInteger();

    private final int id = IDS.incrementAndGet();
    private final DomainType type;
    private final InvalidationLog log;
    /** page number -> physical address | protection bits (the address is page aligned). */
    private final Map<Long, Long> table = new ConcurrentHashMap<>();
    private final Map<Long, Long> iotlb = new ConcurrentHashMap<>();

    MockDomain(DomainType type, InvalidationLog log) {
        this.type = type;
        this.log = log;
    }

    /** Whether this domain belongs to the instance that keeps {@code instanceLog}. */
    boolean keptIn(InvalidationLog instanceLog) {
        return log == instanceLog;
    }

    @Override
    public DomainType type() {
        return type;
    }

    @Override
    public long pgsizeBitmap() {
        return PAGE;
    }

    @Override
    public long apertureEnd() {
        return MockIommu.APERTURE_END;
    }

    @Override
    public void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        for (long i = 0; i < count; i++) {
            long page = (iova + i * pgsize) / PAGE;
            if (table.putIfAbsent(page, (paddr + i * pgsize) | (prot & Prot.ALL)) != null) {
                for (long j = 0; j < i; j++) {
                    table.remove((iova + j * pgsize) / PAGE);
                }
                throw new IoasidException(Errno.EEXIST, "mock: 0x"
                        + Long.toHexString(page * PAGE) + " is mapped");
            }
        }
    }

    @Override
    public long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
        long bytes = 0;
        for (long i = 0; i < count && table.remove((iova + i * pgsize) / PAGE) != null; i++) {
            bytes += pgsize;
        }
        gather.add(iova, bytes, pgsize);
        return bytes;
    }

    @Override
    public long iovaToPhys(long iova) {
        Long e = table.get(iova / PAGE);
        return e == null ? 0 : (e & ~(PAGE - 1)) + iova % PAGE;
    }

    @Override
    public void iotlbSync(IotlbGather gather) {
        if (gather.isEmpty()) {
            return;
        }
        iotlb.keySet().removeIf(p -> p * PAGE >= gather.start() && p * PAGE <= gather.end());
        log.add("INV_IOVA " + this + " 0x" + Long.toHexString(gather.start()) + "-0x"
                + Long.toHexString(gather.end()));
    }

    @Override
    public void flushIotlbAll() {
        iotlb.clear();
        log.add("INV_ALL " + this);
    }

    @Override
    public void free() {
        table.clear();
        iotlb.clear();
        log.add("FREE " + this);
    }

    /** What a DMA to {@code iova} does: the IOTLB first, then the page table. */
    Walk walk(long iova, Access access) {
        switch (type) {
            case BLOCKED:
                return Walk.fault("BLOCKED", this);
            case IDENTITY:
                return Walk.bypass(this);
            default:
                break;
        }
        long page = iova / PAGE;
        Long e = iotlb.get(page);
        if (e == null) {
            e = table.get(page);
            if (e == null) {
                return Walk.fault("UNMAPPED", this);
            }
            iotlb.put(page, e);
        }
        int need = access == Access.WRITE ? Prot.WRITE : Prot.READ;
        if ((e & need) == 0) {
            return Walk.fault("PERMISSION", this);
        }
        return Walk.translated((e & ~(PAGE - 1)) + iova % PAGE, this);
    }

    @Override
    public String toString() {
        return "domain#" + id;
    }
}

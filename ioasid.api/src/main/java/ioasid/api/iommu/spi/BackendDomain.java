package ioasid.api.iommu.spi;

import org.osgi.annotation.versioning.ConsumerType;

import ioasid.api.iommu.DomainType;

/**
 * A domain as its backend implements it: for paging types, an I/O page table in the hardware's
 * format. Page-table calls may come from any thread, concurrently with each other and with
 * translation probes: implement them thread-safely. The core checks alignment and ranges before
 * calling (rule 57), and splits requests into chunks of one supported page size.
 */
@ConsumerType
public interface BackendDomain {

    DomainType type();

    /** Page sizes this domain maps with, one bit per size. */
    long pgsizeBitmap();

    /** The largest IOVA it can map, unsigned: -1 for a full 64-bit input range. */
    long apertureEnd();

    /**
     * Maps {@code count} pages of {@code pgsize} from {@code iova} to {@code paddr}.
     *
     * @throws ioasid.api.IoasidException EEXIST when a page is mapped already (nothing of this
     *     call stays mapped then), ENOMEM when a table cannot be allocated
     */
    void mapPages(long iova, long paddr, long pgsize, long count, int prot);

    /**
     * Unmaps up to {@code count} pages of {@code pgsize} from {@code iova}, stopping at the first
     * hole, and adds what it unmapped to {@code gather} without invalidating the IOTLB.
     *
     * @return bytes unmapped; may exceed the request when a larger page covered it
     */
    long unmapPages(long iova, long pgsize, long count, IotlbGather gather);

    /** The physical address {@code iova} maps to, or 0 when it is not mapped (the kernel's answer). */
    long iovaToPhys(long iova);

    /** Called after a successful map; lets hardware that caches misses see the new entries. */
    default void iotlbSyncMap(long iova, long size) {
    }

    /**
     * Invalidates the gathered range in the IOTLB (and device TLBs), then waits for completion.
     * The core resets the gather after this returns; a backend need not.
     */
    void iotlbSync(IotlbGather gather);

    /** Invalidates everything this domain may have cached. */
    void flushIotlbAll();

    /** Releases the domain; the core calls it only once nothing is attached to it. */
    void free();
}

package ioasid.api.iommu.spi;

import org.osgi.annotation.versioning.ConsumerType;

import ioasid.api.iommu.DomainType;

/**
 * A domain as its backend implements it: for paging types, an I/O page table in the hardware's
 * format. Page-table calls may come from any thread, concurrently with each other and with
 * translation probes: implement them thread-safely. The core checks alignment and ranges before
 * calling (rule 57), and splits requests into chunks of one supported page size.
 *
 * <p>How they are called is stated per method, in the terms of {@link IommuBackend}: the
 * page-table calls are data-path calls, made without the IOMMU core's lock under this backend's
 * read lock, and none is made once the domain is freed or its backend left ({@link
 * #pgsizeBitmap} aside); {@link #free} is a configuration call.
 */
@ConsumerType
public interface BackendDomain {

    /** The type it was allocated with. The IOMMU core does not call this; it keeps its own. */
    DomainType type();

    /**
     * Page sizes this domain maps with, one bit per size.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     *
     * <p>Also read with no lock at all through {@link ioasid.api.iommu.IommuDomain#pgsizeBitmap},
     * possibly while the domain is freed or its backend leaves: answer from what was fixed at
     * allocation.
     */
    long pgsizeBitmap();

    /**
     * The largest IOVA it can map, unsigned: -1 for a full 64-bit input range.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     */
    long apertureEnd();

    /**
     * Maps {@code count} pages of {@code pgsize} from {@code iova} to {@code paddr}.
     *
     * <p>A throw makes the core unmap and sync what the earlier chunks of the same map mapped.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     *
     * @throws ioasid.api.IoasidException EEXIST when a page is mapped already (nothing of this
     *     call stays mapped then), ENOMEM when a table cannot be allocated
     */
    void mapPages(long iova, long paddr, long pgsize, long count, int prot);

    /**
     * Unmaps up to {@code count} pages of {@code pgsize} from {@code iova}, stopping at the first
     * hole, and adds what it unmapped to {@code gather} without invalidating the IOTLB.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     *
     * @return bytes unmapped; may exceed the request when a larger page covered it
     */
    long unmapPages(long iova, long pgsize, long count, IotlbGather gather);

    /**
     * The physical address {@code iova} maps to, or 0 when it is not mapped (the kernel's answer).
     * Called for paging domains only; the core answers for the others (rule 56).
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     */
    long iovaToPhys(long iova);

    /**
     * Called after a successful map; lets hardware that caches misses see the new entries.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     */
    default void iotlbSyncMap(long iova, long size) {
    }

    /**
     * Invalidates the gathered range in the IOTLB (and device TLBs), then waits for completion.
     * The core resets the gather after this returns; a backend need not.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     */
    void iotlbSync(IotlbGather gather);

    /**
     * Invalidates everything this domain may have cached.
     *
     * <p><em>Data-path call</em>: no core lock, any thread, concurrently; may block briefly;
     * no call back.
     */
    void flushIotlbAll();

    /**
     * Releases the domain. Called once, when no group, PASID or vIOMMU uses it, after the core
     * has cut it off its data path: no page-table call is running on it or will start. Not called
     * for the domains of a backend that left. A throw is logged; the domain is gone all the same.
     *
     * <p><em>Configuration call</em>: the core's lock held; may block, the whole core waiting;
     * no call back.
     */
    void free();
}

package ioasid.api.iommu;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

import ioasid.api.IoasidHandle;

/**
 * A PASID with a private I/O page table on one device (seed 002, rule 104). The operations act
 * on the handle directly, without looking the PASID up. Alignment and sync follow rules 57-58:
 * every address and size is a multiple of the smallest page size; {@link #unmap} invalidates the
 * IOTLB before returning, {@link #unmapFast} and {@link #tlbRangeAdd} only gather until
 * {@link #sync} or {@link #flushTlbAll}. After {@link IommuService#privatePasidFree}, or when its
 * backend leaves, every operation fails with ENODEV.
 */
@ProviderType
public interface PrivatePasid {
    String device();

    IoasidHandle pasid();

    /** The paging domain holding the private page table. */
    IommuDomain domain();

    /**
     * @throws ioasid.api.IoasidException EINVAL for misaligned or overflowing arguments or bad
     *     flags; ERANGE for a physical address past the IOMMU's output size; EEXIST when part of
     *     the range is mapped (nothing stays mapped); ENODEV when stale
     */
    void map(long iova, long paddr, long size, int prot);

    /**
     * Maps the segments back to back from {@code iova}.
     *
     * @return bytes mapped
     * @throws ioasid.api.IoasidException as {@link #map}; nothing stays mapped on failure
     */
    long mapSg(long iova, List<Segment> segments, int prot);

    /** Unmaps and syncs the IOTLB. @return bytes unmapped, stopping at the first hole */
    long unmap(long iova, long size);

    /** Unmaps and gathers the range for a later {@link #sync}. @return bytes unmapped */
    long unmapFast(long iova, long size);

    /** @return the physical address, or 0 when unmapped */
    long iovaToPhys(long iova);

    /** Invalidates everything the IOTLB holds for this PASID's domain; clears the gather. */
    void flushTlbAll();

    /** Adds a range to the gather without unmapping. */
    void tlbRangeAdd(long iova, long size);

    /** Invalidates the gathered range and waits; a no-op when nothing was gathered. */
    void sync();

    boolean live();
}

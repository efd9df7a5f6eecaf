package ioasid.api.iommu.spi;

import org.osgi.annotation.versioning.ProviderType;

/**
 * The range of IOVA whose IOTLB entries an unmap left to invalidate (the kernel's
 * {@code iommu_iotlb_gather}). Unmap adds to it; {@link BackendDomain#iotlbSync} invalidates it.
 * Not thread-safe: one per unmap call or per caller.
 */
@ProviderType
public final class IotlbGather {
    private long start = Long.MAX_VALUE;
    private long end;
    private long pgsize;

    /** Adds {@code [iova, iova + size)} unmapped with pages of {@code pgsize}. */
    public void add(long iova, long size, long pgsize) {
        if (size <= 0) {
            return;
        }
        start = Math.min(start, iova);
        end = Math.max(end, iova + size - 1);
        this.pgsize = this.pgsize == 0 ? pgsize : Math.min(this.pgsize, pgsize);
    }

    public boolean isEmpty() {
        return start == Long.MAX_VALUE;
    }

    /** First address to invalidate. */
    public long start() {
        return start;
    }

    /** Last address to invalidate, inclusive. */
    public long end() {
        return end;
    }

    /** The smallest page size unmapped, the invalidation granule. */
    public long pgsize() {
        return pgsize;
    }

    /** Forgets the range, after a sync. */
    public void reset() {
        start = Long.MAX_VALUE;
        end = 0;
        pgsize = 0;
    }

    @Override
    public String toString() {
        return isEmpty() ? "empty" : "[0x" + Long.toHexString(start) + ", 0x"
                + Long.toHexString(end) + "] granule 0x" + Long.toHexString(pgsize);
    }
}

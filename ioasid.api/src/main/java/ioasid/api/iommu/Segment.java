package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

/** One entry of a scatter-gather list: physically contiguous memory. */
@ProviderType
public final class Segment {
    private final long paddr;
    private final long length;

    public Segment(long paddr, long length) {
        this.paddr = paddr;
        this.length = length;
    }

    public long paddr() {
        return paddr;
    }

    public long length() {
        return length;
    }

    @Override
    public String toString() {
        return "0x" + Long.toHexString(paddr) + "+0x" + Long.toHexString(length);
    }
}

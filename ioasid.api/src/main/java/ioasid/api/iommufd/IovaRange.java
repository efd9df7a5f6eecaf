package ioasid.api.iommufd;

import org.osgi.annotation.versioning.ProviderType;

/**
 * An inclusive IOVA range {@code [start, last]}, both read as unsigned 64-bit numbers, as
 * iommufd's {@code struct iommu_iova_range}.
 */
@ProviderType
public final class IovaRange {
    private final long start;
    private final long last;

    /** Any pair is accepted here; the operation that takes a range checks it. */
    public IovaRange(long start, long last) {
        this.start = start;
        this.last = last;
    }

    /** The first IOVA, unsigned. */
    public long start() {
        return start;
    }

    /** The last IOVA, unsigned. */
    public long last() {
        return last;
    }

    @Override
    public boolean equals(Object o) {
        return o instanceof IovaRange r && r.start == start && r.last == last;
    }

    @Override
    public int hashCode() {
        return Long.hashCode(start) * 31 + Long.hashCode(last);
    }

    /** {@code [0x1000, 0x1fff]}. */
    @Override
    public String toString() {
        return "[0x" + Long.toHexString(start) + ", 0x" + Long.toHexString(last) + "]";
    }
}

package ioasid.core.iommu;

/** The kernel's {@code iommu_pgsize}: the page size and count of the next chunk (rule 57). */
final class PageSizes {
    private PageSizes() {
    }

    /**
     * Picks the largest supported page size that {@code iova}, {@code paddr} and {@code size}
     * allow, and how many of them to map before a larger size could take over.
     *
     * @return {pgsize, count}
     */
    static long[] next(long bitmap, long iova, long paddr, long size) {
        long addrMerge = iova | paddr;
        // sizes supported and not larger than size
        long pgsizes = bitmap & mask(63 - Long.numberOfLeadingZeros(size));
        if (addrMerge != 0) {
            pgsizes &= mask(Long.numberOfTrailingZeros(addrMerge));
        }
        int idx = 63 - Long.numberOfLeadingZeros(pgsizes);
        long pgsize = 1L << idx;
        long count = size >>> idx;
        long larger = bitmap & ~mask(idx);
        if (larger != 0) {
            long next = Long.lowestOneBit(larger);
            // a larger page only helps if iova and paddr share their offset within it
            if (((iova ^ paddr) & (next - 1)) == 0) {
                long offset = next - (addrMerge & (next - 1));
                if (offset + next <= size) {
                    count = offset >>> idx;
                }
            }
        }
        return new long[] {pgsize, count};
    }

    /** Bits 0 to {@code hi}, inclusive. */
    private static long mask(int hi) {
        return hi >= 63 ? -1L : (1L << (hi + 1)) - 1;
    }
}

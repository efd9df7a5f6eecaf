package ioasid.core.impl;

/**
 * Occupancy of an ID space as a three-level bitmap: level 0 has a bit per ID, level 1 a bit per
 * full level-0 word, level 2 a bit per full level-1 word. The lowest clear bit at or after any
 * position is found in a few word operations instead of a scan, whatever the fill. A lower bound
 * on the lowest clear bit lets the usual lowest-first search start at its word directly. 20 bits
 * take 128 KiB + 2 KiB + 32 bytes. Not thread-safe: the core's lock guards it.
 */
final class IdBitmap {
    private final int size;
    private final long[] l0;
    private final long[] l1;
    private final long[] l2;
    /** Every bit below is set. */
    private int low;

    IdBitmap(int bits) {
        if (bits < 1 || bits > 24) {
            throw new IllegalArgumentException("bits " + bits);
        }
        size = 1 << bits;
        l0 = new long[words(size)];
        l1 = new long[words(l0.length)];
        l2 = new long[words(l1.length)];
    }

    private static int words(int n) {
        return (n + 63) >>> 6;
    }

    int size() {
        return size;
    }

    boolean get(int id) {
        return (l0[id >>> 6] & (1L << id)) != 0;
    }

    void set(int id) {
        int w = id >>> 6;
        long v = l0[w] | (1L << id);
        l0[w] = v;
        if (v == -1L) {
            int w1 = w >>> 6;
            long v1 = l1[w1] | (1L << w);
            l1[w1] = v1;
            if (v1 == -1L) {
                l2[w1 >>> 6] |= 1L << w1;
            }
        }
    }

    void clear(int id) {
        if (id < low) {
            low = id;
        }
        int w = id >>> 6;
        long old = l0[w];
        l0[w] = old & ~(1L << id);
        if (old == -1L) {
            int w1 = w >>> 6;
            long old1 = l1[w1];
            l1[w1] = old1 & ~(1L << w);
            if (old1 == -1L) {
                l2[w1 >>> 6] &= ~(1L << w1);
            }
        }
    }

    /** The lowest clear bit in {@code [from, to]}, or -1. */
    int nextClear(int from, int to) {
        if (from > low) {
            return search(from, to);
        }
        // everything below low is set: start there, and what the search passes over is set too
        int id = search(low, to);
        low = id >= 0 ? id : Math.max(low, Math.min(to + 1, size));
        return id;
    }

    private int search(int from, int to) {
        if (from > to) {
            return -1;
        }
        int w = from >>> 6;
        long free = ~l0[w] & (-1L << from);
        int id;
        if (free != 0) {
            id = (w << 6) + Long.numberOfTrailingZeros(free);
        } else {
            int w0 = nextNotFullL0(w + 1);
            if (w0 < 0) {
                return -1;
            }
            id = (w0 << 6) + Long.numberOfTrailingZeros(~l0[w0]);
        }
        return id <= to ? id : -1;
    }

    /** The first level-0 word at or after {@code from} with a clear bit, or -1. */
    private int nextNotFullL0(int from) {
        if (from >= l0.length) {
            return -1;
        }
        int w = from >>> 6;
        long free = ~l1[w] & (-1L << from);
        int idx;
        if (free != 0) {
            idx = (w << 6) + Long.numberOfTrailingZeros(free);
        } else {
            int w1 = nextNotFullL1(w + 1);
            if (w1 < 0) {
                return -1;
            }
            idx = (w1 << 6) + Long.numberOfTrailingZeros(~l1[w1]);
        }
        return idx < l0.length ? idx : -1;
    }

    /** The first level-1 word at or after {@code from} with a clear bit, or -1. */
    private int nextNotFullL1(int from) {
        for (int w = from >>> 6; w < l2.length && from < l1.length; w++) {
            long free = ~l2[w] & (w == from >>> 6 ? -1L << from : -1L);
            if (free != 0) {
                int idx = (w << 6) + Long.numberOfTrailingZeros(free);
                return idx < l1.length ? idx : -1;
            }
        }
        return -1;
    }

    /** The lowest set bit at or after {@code from}, or -1. Linear in the words skipped. */
    int nextSet(int from) {
        if (from >= size) {
            return -1;
        }
        int w = from >>> 6;
        long bits = l0[w] & (-1L << from);
        while (bits == 0) {
            if (++w >= l0.length) {
                return -1;
            }
            bits = l0[w];
        }
        return (w << 6) + Long.numberOfTrailingZeros(bits);
    }
}

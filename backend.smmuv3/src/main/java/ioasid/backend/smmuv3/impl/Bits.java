package ioasid.backend.smmuv3.impl;

/** Bit-field helpers in the kernel's GENMASK / FIELD_GET / FIELD_PREP terms. */
final class Bits {
    private Bits() {
    }

    /** Bits {@code hi..lo} set, inclusive (GENMASK_ULL). */
    static long mask(int hi, int lo) {
        long upper = hi == 63 ? -1L : (1L << (hi + 1)) - 1;
        return upper & ~((1L << lo) - 1);
    }

    /** The field {@code hi..lo} of {@code word}, shifted down (FIELD_GET). */
    static long get(long word, int hi, int lo) {
        return (word & mask(hi, lo)) >>> lo;
    }

    /** {@code value} placed in field {@code hi..lo} (FIELD_PREP); too-wide values are cut. */
    static long prep(int hi, int lo, long value) {
        return (value << lo) & mask(hi, lo);
    }

    /** {@code word} with field {@code hi..lo} replaced by {@code value}. */
    static long with(long word, int hi, int lo, long value) {
        return (word & ~mask(hi, lo)) | prep(hi, lo, value);
    }

    static boolean bit(long word, int n) {
        return (word >>> n & 1) != 0;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}

package ioasid.core.iommufd;

import static ioasid.api.Errno.EOVERFLOW;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/*
 * Unsigned 64-bit IOVA arithmetic, as the kernel's unsigned long: a long holds the bits, the
 * comparisons are unsigned.
 *
 * Rules:
 *  1. ULONG_MAX (2^64-1) is never a valid IOVA or length at the ioctl boundary (rule 121).
 *  2. A range whose last byte wraps past 2^64-1 is EOVERFLOW (check_add_overflow).
 */
final class Iova {
    /** The kernel's PAGE_SIZE: the unit of pinned pages and of areas' page offsets. */
    static final long PAGE_SIZE = 4096;
    static final long ULONG_MAX = -1L;

    private Iova() {
    }

    static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    /** The last byte of {@code [start, start + length)}; EOVERFLOW when it wraps. */
    static long last(long start, long length) {
        long last = start + length - 1;
        if (length != 0 && Long.compareUnsigned(last, start) < 0) {
            throw err(EOVERFLOW, hex(start) + " + " + hex(length) + " wraps past 2^64");
        }
        return last;
    }

    static boolean lt(long a, long b) {
        return Long.compareUnsigned(a, b) < 0;
    }

    static boolean le(long a, long b) {
        return Long.compareUnsigned(a, b) <= 0;
    }

    static long max(long a, long b) {
        return lt(a, b) ? b : a;
    }

    static long min(long a, long b) {
        return lt(a, b) ? a : b;
    }

    /** Whether {@code [s1, l1]} and {@code [s2, l2]} share a byte. */
    static boolean overlaps(long s1, long l1, long s2, long l2) {
        return le(s1, l2) && le(s2, l1);
    }

    /** The smallest power of two at or above {@code n}, for n in [1, 2^63]. */
    static long roundUpPow2(long n) {
        long h = Long.highestOneBit(n);
        return h == n ? n : h << 1;
    }

    static String hex(long v) {
        return "0x" + Long.toHexString(v);
    }
}

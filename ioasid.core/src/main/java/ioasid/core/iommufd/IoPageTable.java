package ioasid.core.iommufd;

import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EOVERFLOW;
import static ioasid.api.Errno.EPERM;
import static ioasid.core.iommufd.Iova.PAGE_SIZE;
import static ioasid.core.iommufd.Iova.ULONG_MAX;
import static ioasid.core.iommufd.Iova.err;
import static ioasid.core.iommufd.Iova.hex;
import static ioasid.core.iommufd.Iova.le;
import static ioasid.core.iommufd.Iova.lt;

import java.util.ArrayList;
import java.util.Collection;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import ioasid.api.iommu.Prot;
import ioasid.api.iommufd.IovaRange;

/*
 * The IOVA bookkeeping of one IOAS, the kernel's io_pagetable without its domains: areas,
 * reserved ranges, allowed ranges and the alignment. No IOMMU call is made here; Ioas applies
 * what this decides to the HWPTs.
 *
 * Rules:
 *  1. Placing a map: the length must be non-zero and aligned; a fixed IOVA must be aligned, must
 *     not wrap (EOVERFLOW), must miss every reserved range (EINVAL) and every area (EEXIST)
 *     (rule 121).
 *  2. An allocated IOVA is the lowest that fits an allowed range, or [PAGE_SIZE, 2^64-1 -
 *     PAGE_SIZE] when none is set, outside reserved ranges and areas, aligned to the smaller of
 *     the length rounded up to a power of two and the address's lowest set bit, keeping the
 *     address's offset in its page; ENOSPC when none fits (rule 122).
 *  3. An area takes writable pages only if the pages are writable (EPERM), and its page offset
 *     must be aligned (EINVAL) (rule 121).
 *  4. Unmap takes only areas entirely in the range: none there, or one crossing an end, is
 *     ENOENT and nothing is removed (rule 123, D32).
 *  5. Allowed ranges are replaced as a whole: a range whose start is not below its end or two
 *     that overlap are EINVAL, one meeting a reserved range is EADDRINUSE; a reservation meeting
 *     an area or an allowed range is EADDRINUSE (rule 124), reported as EEXIST (D31).
 *  6. The alignment rises with each domain's smallest page (above PAGE_SIZE: EINVAL), only if
 *     every area conforms (EADDRINUSE, D31) (rule 125).
 */
final class IoPageTable {

    /** One mapping: IOVA to contiguous physical memory. */
    static final class Area {
        final long iova;
        final long length;
        final long paddr;
        final int prot;
        /** Whether the pages behind it may be mapped writable (iopt_pages.writable). */
        final boolean writable;

        Area(long iova, long length, long paddr, int prot, boolean writable) {
            this.iova = iova;
            this.length = length;
            this.paddr = paddr;
            this.prot = prot;
            this.writable = writable;
        }

        long last() {
            return iova + length - 1;
        }

        @Override
        public String toString() {
            return "area [" + hex(iova) + ", " + hex(last()) + "]";
        }
    }

    /** Physical memory behind part of an area, as a copy takes it. */
    static final class Pages {
        final long paddr;
        final long length;
        final boolean writable;

        Pages(long paddr, long length, boolean writable) {
            this.paddr = paddr;
            this.length = length;
            this.writable = writable;
        }
    }

    private static final class Reserved {
        final long start;
        final long last;
        final Object owner;

        Reserved(long start, long last, Object owner) {
            this.start = start;
            this.last = last;
            this.owner = owner;
        }
    }

    private static final Comparator<Long> UNSIGNED = Long::compareUnsigned;

    private final TreeMap<Long, Area> areas = new TreeMap<>(UNSIGNED);
    private final List<Reserved> reserved = new ArrayList<>();
    private List<IovaRange> allowed = List.of();
    private long alignment = 1;

    long alignment() {
        return alignment;
    }

    Collection<Area> areas() {
        return List.copyOf(areas.values());
    }

    /** Rules 1, 2: where a map of {@code length} bytes from {@code paddr} goes. */
    long place(boolean fixed, long iova, long paddr, long length) {
        if (length == 0 || (length & (alignment - 1)) != 0) {
            throw err(EINVAL, "length " + hex(length) + " is not a non-zero multiple of the "
                    + "IOAS alignment " + hex(alignment));
        }
        if (!fixed) {
            return allocate(paddr, length);
        }
        if ((iova & (alignment - 1)) != 0) {
            throw err(EINVAL, "IOVA " + hex(iova) + " is not aligned to " + hex(alignment));
        }
        long last = Iova.last(iova, length);
        for (Reserved r : reserved) {
            if (Iova.overlaps(iova, last, r.start, r.last)) {
                throw err(EINVAL, "[" + hex(iova) + ", " + hex(last) + "] meets the reserved "
                        + "range [" + hex(r.start) + ", " + hex(r.last) + "]");
            }
        }
        List<Area> hit = intersecting(iova, last);
        if (!hit.isEmpty()) {
            throw err(EEXIST, "[" + hex(iova) + ", " + hex(last) + "] overlaps " + hit.get(0));
        }
        return iova;
    }

    /** Rule 3: records an area placed by {@link #place}. */
    Area insert(long iova, long paddr, long length, int prot, boolean writable) {
        if ((prot & Prot.WRITE) != 0 && !writable) {
            throw err(EPERM, "the pages at " + hex(paddr) + " are not writable");
        }
        if ((paddr & (PAGE_SIZE - 1) & (alignment - 1)) != 0) {
            throw err(EINVAL, "address " + hex(paddr) + " is not aligned to " + hex(alignment));
        }
        Area a = new Area(iova, length, paddr, prot, writable);
        areas.put(iova, a);
        return a;
    }

    void remove(Area a) {
        areas.remove(a.iova, a);
    }

    /** Rule 2: the kernel's iopt_alloc_iova. */
    private long allocate(long paddr, long length) {
        if (!lt(length, Long.MAX_VALUE)) {
            throw err(EOVERFLOW, "length " + hex(length) + " is too large to allocate");
        }
        long align = Iova.roundUpPow2(length);
        if (paddr != 0) {
            align = Iova.min(align, Long.lowestOneBit(paddr));
        }
        if (lt(align, alignment)) {
            throw err(EINVAL, "address " + hex(paddr) + " and length " + hex(length)
                    + " allow alignment " + hex(align) + ", below the IOAS's " + hex(alignment));
        }
        long pageOffset = paddr & (PAGE_SIZE - 1);
        List<IovaRange> spans = allowed.isEmpty()
                ? List.of(new IovaRange(PAGE_SIZE, ULONG_MAX - PAGE_SIZE)) : allowed;
        for (IovaRange span : spans) {
            long lo = Iova.max(span.start(), PAGE_SIZE);
            long hi = Iova.min(span.last(), ULONG_MAX - PAGE_SIZE);
            long start = fit(lo, hi, length, align, pageOffset);
            if (start == -1) {
                continue;
            }
            for (long[] hole : holes(start, hi)) {
                long at = fit(hole[0], hole[1], length, align, pageOffset);
                if (at != -1) {
                    return at;
                }
            }
        }
        throw err(ENOSPC, "no free IOVA range fits " + hex(length) + " bytes aligned to "
                + hex(align));
    }

    /** The aligned start of {@code length} bytes in {@code [lo, hi]}, or -1 when they do not fit. */
    private static long fit(long lo, long hi, long length, long align, long pageOffset) {
        if (lt(hi, lo) || lt(hi - lo, length - 1)) {
            return -1;
        }
        long up = lo + align - 1;
        if (lt(up, lo)) {
            return -1; // aligning wraps past 2^64
        }
        long start = (up & -align) | pageOffset;
        if (lt(hi, start) || lt(hi - start, length - 1)) {
            return -1;
        }
        return start;
    }

    /** The gaps between reserved ranges and areas within {@code [lo, hi]}, lowest first. */
    private List<long[]> holes(long lo, long hi) {
        List<long[]> used = new ArrayList<>();
        for (Reserved r : reserved) {
            if (Iova.overlaps(r.start, r.last, lo, hi)) {
                used.add(new long[] {r.start, r.last});
            }
        }
        for (Area a : intersecting(lo, hi)) {
            used.add(new long[] {a.iova, a.last()});
        }
        return gaps(used, lo, hi);
    }

    private static List<long[]> gaps(List<long[]> used, long lo, long hi) {
        used.sort((x, y) -> Long.compareUnsigned(x[0], y[0]));
        List<long[]> out = new ArrayList<>();
        long cur = lo;
        for (long[] u : used) {
            if (lt(cur, u[0])) {
                out.add(new long[] {cur, Iova.min(u[0] - 1, hi)});
            }
            if (!lt(u[1], cur)) {
                if (u[1] == ULONG_MAX || !lt(u[1], hi)) {
                    return out;
                }
                cur = u[1] + 1;
            }
        }
        if (le(cur, hi)) {
            out.add(new long[] {cur, hi});
        }
        return out;
    }

    /** The areas that share a byte with {@code [start, last]}, lowest first. */
    List<Area> intersecting(long start, long last) {
        List<Area> out = new ArrayList<>();
        Map.Entry<Long, Area> below = areas.lowerEntry(start);
        if (below != null && le(start, below.getValue().last())) {
            out.add(below.getValue());
        }
        out.addAll(areas.subMap(start, true, last, true).values());
        return out;
    }

    /** Rule 4: removes and returns the areas entirely inside {@code [start, last]}. */
    List<Area> unmap(long start, long last) {
        List<Area> hit = intersecting(start, last);
        if (hit.isEmpty()) {
            throw err(ENOENT, "nothing is mapped in [" + hex(start) + ", " + hex(last) + "]");
        }
        for (Area a : hit) {
            if (lt(a.iova, start) || lt(last, a.last())) {
                throw err(ENOENT, "[" + hex(start) + ", " + hex(last) + "] splits " + a);
            }
        }
        hit.forEach(this::remove);
        return hit;
    }

    /** The physical memory behind {@code [iova, last]}, which areas must cover without a gap. */
    List<Pages> pages(long iova, long last) {
        List<Pages> out = new ArrayList<>();
        long cur = iova;
        for (Area a : intersecting(iova, last)) {
            if (a.iova != cur && !(lt(a.iova, cur) && out.isEmpty())) {
                break;
            }
            long end = Iova.min(last, a.last());
            out.add(new Pages(a.paddr + (cur - a.iova), end - cur + 1, a.writable));
            if (end == last) {
                return out;
            }
            cur = end + 1;
        }
        throw err(ENOENT, "[" + hex(iova) + ", " + hex(last) + "] is not mapped without a gap");
    }

    /** Rule 5: ALLOW_IOVAS. */
    void allow(List<IovaRange> ranges) {
        List<IovaRange> sorted = new ArrayList<>(ranges);
        sorted.sort((x, y) -> Long.compareUnsigned(x.start(), y.start()));
        for (int i = 0; i < sorted.size(); i++) {
            IovaRange r = sorted.get(i);
            if (!lt(r.start(), r.last())) {
                throw err(EINVAL, "allowed range " + r + " does not start below its end");
            }
            if (i > 0 && le(r.start(), sorted.get(i - 1).last())) {
                throw err(EINVAL, "allowed ranges " + sorted.get(i - 1) + " and " + r
                        + " overlap");
            }
        }
        for (IovaRange r : sorted) {
            for (Reserved res : reserved) {
                if (Iova.overlaps(r.start(), r.last(), res.start, res.last)) {
                    throw addrInUse("allowed range " + r + " meets the reserved range ["
                            + hex(res.start) + ", " + hex(res.last) + "]");
                }
            }
        }
        allowed = List.copyOf(sorted);
    }

    /** Rule 5: iopt_reserve_iova. */
    void reserve(long start, long last, Object owner) {
        List<Area> hit = intersecting(start, last);
        if (!hit.isEmpty()) {
            throw addrInUse("[" + hex(start) + ", " + hex(last) + "] meets " + hit.get(0));
        }
        for (IovaRange r : allowed) {
            if (Iova.overlaps(start, last, r.start(), r.last())) {
                throw addrInUse("[" + hex(start) + ", " + hex(last) + "] meets the allowed "
                        + "range " + r);
            }
        }
        reserved.add(new Reserved(start, last, owner));
    }

    /** IOVA_RANGES: the holes between the reserved ranges over the whole space. */
    List<IovaRange> ranges() {
        List<long[]> used = new ArrayList<>();
        for (Reserved r : reserved) {
            used.add(new long[] {r.start, r.last});
        }
        List<IovaRange> out = new ArrayList<>();
        for (long[] g : gaps(used, 0, ULONG_MAX)) {
            out.add(new IovaRange(g[0], g[1]));
        }
        return out;
    }

    /** Rule 6: the alignment a domain with these page sizes needs; checks the areas conform. */
    long alignmentWith(long pgsizeBitmap) {
        long want = Iova.max(Long.lowestOneBit(pgsizeBitmap), alignment);
        if (lt(PAGE_SIZE, want)) {
            throw err(EINVAL, "a smallest page of " + hex(want) + " is above PAGE_SIZE");
        }
        if (want != alignment) {
            for (Area a : areas.values()) {
                if (((a.iova | a.length | (a.paddr & (PAGE_SIZE - 1))) & (want - 1)) != 0) {
                    throw addrInUse(a + " is not aligned to " + hex(want));
                }
            }
        }
        return want;
    }

    /** Sets the alignment; lowering never needs a check (iopt_calculate_iova_alignment). */
    void alignment(long value) {
        alignment = value;
    }

    /** iommufd's EADDRINUSE, which the platform's errnos lack (D31). */
    private static ioasid.api.IoasidException addrInUse(String what) {
        return err(EEXIST, what + " (address range in use)");
    }
}

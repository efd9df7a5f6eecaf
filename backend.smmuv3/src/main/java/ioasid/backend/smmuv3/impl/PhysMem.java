package ioasid.backend.smmuv3.impl;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.HashMap;
import java.util.Map;
import java.util.TreeMap;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/*
 * The physical memory the SMMU's tables live in. Every table (stream table, L2 stream spans, CD
 * tables, L1 CD tables, page-table pages) is a naturally aligned region with a fake physical
 * address; table entries hold those addresses and every walk reads memory through them, exactly
 * as the hardware does. A region can carry an owner tag (the domain a page table belongs to), and
 * single addresses can carry tags too (which domain a CD was written for): software-side shadow
 * state the hardware never reads, used only to name the domain that decided a translation.
 *
 * Every access holds the instance lock (Smmuv3Driver.lock): the driver's table writes, the
 * domains' page-table calls and the hardware model's walks alike. This differs from VT-d's
 * PhysMem, whose unit walks tables without the driver's locks: here a walk also fills the
 * SMMU's configuration caches and TLB (Smmu), so it is a writer and cannot overlap the driver.
 * The one walk outside the lock, an SVA walk of a process page table, reads no PhysMem.
 */
final class PhysMem {
    /** One allocated table. */
    static final class Region {
        final long pa;
        final long[] words;
        Object owner;

        Region(long pa, int bytes) {
            this.pa = pa;
            this.words = new long[bytes / 8];
        }

        int bytes() {
            return words.length * 8;
        }

        /** The non-zero words as {index=value ...}, for state snapshots. */
        String nonZero() {
            StringBuilder b = new StringBuilder("{");
            for (int i = 0; i < words.length; i++) {
                if (words[i] != 0) {
                    b.append(i).append('=').append(Bits.hex(words[i])).append(' ');
                }
            }
            return b.append('}').toString();
        }
    }

    private final long base;
    private final long end;
    private long limit;
    private long used;
    private long next;
    private final TreeMap<Long, Region> regions = new TreeMap<>();
    private final Map<Integer, Deque<Long>> freeLists = new HashMap<>();
    private final TreeMap<Long, Object> tags = new TreeMap<>();

    /**
     * @param base first physical address tables may use
     * @param end first address past the table area
     * @param limit how many bytes of tables may be allocated at once
     */
    PhysMem(long base, long end, long limit) {
        this.base = base;
        this.end = end;
        this.limit = limit;
        this.next = base;
    }

    /** A zeroed region of at least {@code bytes}, aligned to its size. */
    Region alloc(int bytes, Object owner) {
        int size = bytes <= 64 ? 64 : Integer.highestOneBit(bytes - 1) << 1;
        if (used + size > limit) {
            throw new IoasidException(Errno.ENOMEM, "no memory for a " + size
                    + "-byte table (" + used + " of " + limit + " bytes in use)");
        }
        Deque<Long> free = freeLists.get(size);
        long pa;
        if (free != null && !free.isEmpty()) {
            pa = free.pop();
        } else {
            pa = (next + size - 1) & -(long) size;
            if (pa + size > end) {
                throw new IoasidException(Errno.ENOMEM, "table address space exhausted");
            }
            // Alignment gaps are left unused: the table address space is large.
            next = pa + size;
        }
        Region r = new Region(pa, size);
        r.owner = owner;
        regions.put(pa, r);
        used += size;
        return r;
    }

    void free(Region r) {
        if (regions.remove(r.pa) != r) {
            throw new IllegalStateException("double free of table 0x" + Long.toHexString(r.pa));
        }
        tags.subMap(r.pa, r.pa + r.bytes()).clear();
        used -= r.bytes();
        freeLists.computeIfAbsent(r.bytes(), k -> new ArrayDeque<>()).push(r.pa);
    }

    /** The region starting exactly at {@code pa}, or null. */
    Region region(long pa) {
        return regions.get(pa);
    }

    /** Reads the 64-bit word at {@code pa}; unbacked memory reads as 0 (an invalid entry). */
    long read(long pa) {
        Map.Entry<Long, Region> e = regions.floorEntry(pa);
        if (e == null) {
            return 0;
        }
        long off = pa - e.getKey();
        Region r = e.getValue();
        return off < r.bytes() ? r.words[(int) (off >>> 3)] : 0;
    }

    void write(long pa, long value) {
        Map.Entry<Long, Region> e = regions.floorEntry(pa);
        long off = e == null ? -1 : pa - e.getKey();
        if (e == null || off >= e.getValue().bytes()) {
            throw new IllegalStateException("write to unbacked 0x" + Long.toHexString(pa));
        }
        e.getValue().words[(int) (off >>> 3)] = value;
    }

    /** Shadow tag for one address (not visible to the hardware). */
    void tag(long pa, Object owner) {
        if (owner == null) {
            tags.remove(pa);
        } else {
            tags.put(pa, owner);
        }
    }

    Object tag(long pa) {
        return tags.get(pa);
    }

    /** The owner of the region containing {@code pa}, or null. */
    Object owner(long pa) {
        Map.Entry<Long, Region> e = regions.floorEntry(pa);
        return e != null && pa - e.getKey() < e.getValue().bytes() ? e.getValue().owner : null;
    }

    long used() {
        return used;
    }

    /** Test hook: changes how many bytes may be in use (ENOMEM injection). */
    void limit(long bytes) {
        this.limit = bytes;
    }

    int regionCount() {
        return regions.size();
    }
}

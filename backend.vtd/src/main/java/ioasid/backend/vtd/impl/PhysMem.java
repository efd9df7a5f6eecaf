package ioasid.backend.vtd.impl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.Arrays;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The physical memory the unit's tables live in. Every table page gets a fake, page-aligned
 * physical address, and table entries hold those addresses, so the hardware model walks raw
 * entries the way the unit would. Addresses are never reused: a stale pointer never aliases a new
 * table.
 *
 * <p>Entries are read with acquire and written with release semantics: the hardware walks tables
 * without the driver's locks, like a real unit racing with the CPU.
 */
final class PhysMem {
    static final int PAGE_SHIFT = 12;
    static final long PAGE_SIZE = 1L << PAGE_SHIFT;
    static final int LONGS_PER_PAGE = (int) (PAGE_SIZE / Long.BYTES);
    /** Table pages start above 4 GiB so they do not look like the low IOVAs tests map. */
    static final long BASE = 1L << 32;

    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);

    private final ConcurrentHashMap<Long, long[]> pages = new ConcurrentHashMap<>();
    private final AtomicLong next = new AtomicLong(BASE);
    private final AtomicLong allocated = new AtomicLong();
    private final AtomicLong freed = new AtomicLong();

    /** Allocates {@code n} zeroed, physically contiguous pages; returns the first's address. */
    long alloc(int n) {
        if (n < 1) {
            throw new IllegalArgumentException("pages " + n);
        }
        long pa = next.getAndAdd(n * PAGE_SIZE);
        pages.put(pa, new long[n * LONGS_PER_PAGE]);
        allocated.addAndGet(n);
        return pa;
    }

    /** The table at a physical address handed out by {@link #alloc}, or null. */
    long[] table(long pa) {
        return pages.get(pa);
    }

    void free(long pa) {
        long[] t = pages.remove(pa);
        if (t == null) {
            throw new IllegalStateException("double free of 0x" + Long.toHexString(pa));
        }
        freed.addAndGet(t.length / LONGS_PER_PAGE);
    }

    long allocatedPages() {
        return allocated.get();
    }

    long freedPages() {
        return freed.get();
    }

    long livePages() {
        return allocated.get() - freed.get();
    }

    /** Everything in memory, in address order: two equal digests mean no table changed. */
    String digest() {
        Map<Long, long[]> sorted = new TreeMap<>(pages);
        StringBuilder sb = new StringBuilder();
        for (Map.Entry<Long, long[]> e : sorted.entrySet()) {
            sb.append(Long.toHexString(e.getKey())).append(':')
                    .append(Arrays.hashCode(e.getValue())).append(';');
        }
        return sb.toString();
    }

    static long read(long[] table, int index) {
        return (long) SLOT.getAcquire(table, index);
    }

    static void write(long[] table, int index, long value) {
        SLOT.setRelease(table, index, value);
    }

    static boolean cas(long[] table, int index, long expected, long value) {
        return SLOT.compareAndSet(table, index, expected, value);
    }
}

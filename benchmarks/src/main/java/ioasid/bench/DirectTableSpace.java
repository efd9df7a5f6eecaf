package ioasid.bench;

import java.util.NoSuchElementException;

/**
 * Baseline: an entry array indexed by ID and a bitmap of used IDs. Allocation and free hold one
 * lock and search from a hint (the lowest word that may have a free bit); lookup reads the
 * array without a lock, which {@link Entry}'s final fields make safe.
 */
final class DirectTableSpace implements IdSpace {
    private final Object owner = new Object();
    private final Entry[] table = new Entry[MAX + 1];
    private final long[] used = new long[(MAX + 64) >>> 6];
    private int hint;

    DirectTableSpace() {
        used[0] = 1L; // ID 0 reserved
    }

    @Override
    public synchronized Object alloc(int min, int max) {
        int w = Math.max(min >>> 6, hint);
        int id = -1;
        long bits = ~used[w] & (-1L << (Math.max(min, w << 6) & 63));
        for (;;) {
            if (bits != 0) {
                id = (w << 6) + Long.numberOfTrailingZeros(bits);
                break;
            }
            if (++w == used.length) {
                break;
            }
            bits = ~used[w];
        }
        if (id < 0 || id > max) {
            throw new IllegalStateException("no free ID in [" + min + ", " + max + "]");
        }
        if (min <= 1) {
            hint = id >>> 6; // nothing below is free
        }
        used[id >>> 6] |= 1L << id;
        Entry e = new Entry(id, owner, null);
        table[id] = e;
        return e;
    }

    @Override
    public synchronized void free(Object handle) {
        Entry e = (Entry) handle;
        if (table[e.id] != e) {
            throw new NoSuchElementException("ID " + e.id + " is not live");
        }
        table[e.id] = null;
        used[e.id >>> 6] &= ~(1L << e.id);
        hint = Math.min(hint, e.id >>> 6);
    }

    @Override
    public Object find(int id) {
        Entry e = id >= 0 && id <= MAX ? table[id] : null;
        if (e == null || e.owner != owner) {
            throw new NoSuchElementException("ID " + id + " is not live here");
        }
        return e;
    }

    @Override
    public int id(Object handle) {
        return ((Entry) handle).id;
    }
}

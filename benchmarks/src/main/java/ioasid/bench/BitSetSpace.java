package ioasid.bench;

import java.util.BitSet;
import java.util.HashMap;
import java.util.Map;
import java.util.NoSuchElementException;

/** Baseline: {@link BitSet} of used IDs and a {@link HashMap} of entries, under one lock. */
final class BitSetSpace implements IdSpace {
    private final Object owner = new Object();
    private final BitSet used = new BitSet(MAX + 1);
    private final Map<Integer, Entry> entries = new HashMap<>();

    BitSetSpace() {
        used.set(0);
    }

    @Override
    public synchronized Object alloc(int min, int max) {
        int id = used.nextClearBit(min);
        if (id > max) {
            throw new IllegalStateException("no free ID in [" + min + ", " + max + "]");
        }
        used.set(id);
        Entry e = new Entry(id, owner, null);
        entries.put(id, e);
        return e;
    }

    @Override
    public synchronized void free(Object handle) {
        Entry e = (Entry) handle;
        if (!entries.remove(e.id, e)) {
            throw new NoSuchElementException("ID " + e.id + " is not live");
        }
        used.clear(e.id);
    }

    @Override
    public synchronized Object find(int id) {
        Entry e = entries.get(id);
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

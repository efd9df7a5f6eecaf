package ioasid.bench;

import java.util.NoSuchElementException;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentSkipListSet;

/**
 * Baseline: a {@link ConcurrentHashMap} of entries and a {@link ConcurrentSkipListSet} of the
 * free IDs, no lock. The free set starts with every ID, which is part of building the space.
 */
final class ConcurrentSpace implements IdSpace {
    private final Object owner = new Object();
    private final ConcurrentHashMap<Integer, Entry> entries = new ConcurrentHashMap<>();
    private final ConcurrentSkipListSet<Integer> free = new ConcurrentSkipListSet<>();

    ConcurrentSpace() {
        for (int id = 1; id <= MAX; id++) {
            free.add(id);
        }
    }

    @Override
    public Object alloc(int min, int max) {
        for (;;) {
            Integer id = free.ceiling(min);
            if (id == null || id > max) {
                throw new IllegalStateException("no free ID in [" + min + ", " + max + "]");
            }
            if (free.remove(id)) { // another thread may have taken it since ceiling()
                Entry e = new Entry(id, owner, null);
                entries.put(id, e);
                return e;
            }
        }
    }

    @Override
    public void free(Object handle) {
        Entry e = (Entry) handle;
        if (!entries.remove(e.id, e)) {
            throw new NoSuchElementException("ID " + e.id + " is not live");
        }
        free.add(e.id);
    }

    @Override
    public Object find(int id) {
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

package ioasid.core.impl;

import java.lang.ref.ReferenceQueue;
import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

/**
 * IDs reclaimed after their helper group left, owed to its helpers if an allocator with equal
 * helpers registers again. The departed helpers are held weakly, so that they do not keep a
 * stopped bundle's classes loaded; when they are collected no allocator can come back for the
 * IDs, and {@link #expunge} reports how many went with them instead of dropping them silently.
 * Guarded by the core lock.
 */
final class OwedIds {
    private final ReferenceQueue<Object> queue = new ReferenceQueue<>();
    private final Map<Object, Entry> map = new HashMap<>();

    /** A weak key: equal to another key, or to the helpers themselves, whose referents are equal. */
    private static final class Key extends WeakReference<Object> {
        final int hash;
        final String name;

        Key(Object helpers, ReferenceQueue<Object> q) {
            super(helpers, q);
            hash = helpers.hashCode();
            name = helpers.getClass().getName(); // no plugin code under the core lock
        }

        @Override
        public int hashCode() {
            return hash;
        }

        @Override
        public boolean equals(Object o) {
            if (this == o) {
                return true;
            }
            Object mine = get();
            if (mine == null) {
                return false;
            }
            return o instanceof Key k ? Objects.equals(mine, k.get()) : mine.equals(o);
        }
    }

    private static final class Entry {
        final Key key;
        final List<Integer> ids = new ArrayList<>();

        Entry(Key key) {
            this.key = key;
        }
    }

    /** A probe equal to the key of equal helpers, without creating a weak reference. */
    private static final class Probe {
        final Object helpers;

        Probe(Object helpers) {
            this.helpers = helpers;
        }

        @Override
        public int hashCode() {
            return helpers.hashCode();
        }

        @Override
        public boolean equals(Object o) {
            return o instanceof Key k ? helpers.equals(k.get()) : false;
        }
    }

    void add(Object helpers, int id) {
        Entry e = map.get(new Probe(helpers));
        if (e == null) {
            Key k = new Key(helpers, queue);
            e = new Entry(k);
            map.put(k, e);
        }
        e.ids.add(id);
    }

    /** The IDs owed to helpers equal to these, removed; null when none. */
    List<Integer> remove(Object helpers) {
        Entry e = map.remove(new Probe(helpers));
        return e == null ? null : e.ids;
    }

    int size() {
        int n = 0;
        for (Entry e : map.values()) {
            n += e.ids.size();
        }
        return n;
    }

    /**
     * Drops the IDs of helpers that were collected.
     *
     * @return a description per collected helpers object of how many IDs went with it
     */
    List<String> expunge() {
        List<String> out = null;
        for (Object r; (r = queue.poll()) != null;) {
            Key k = (Key) r;
            Entry gone = map.remove(k); // a cleared key still equals itself, by identity
            if (gone != null) {
                if (out == null) {
                    out = new ArrayList<>();
                }
                out.add(gone.ids.size() + " IDs owed to departed helpers of class " + k.name);
            }
        }
        return out == null ? List.of() : out;
    }
}

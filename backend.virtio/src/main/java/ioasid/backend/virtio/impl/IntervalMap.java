package ioasid.backend.virtio.impl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

/**
 * Non-overlapping closed intervals of 64-bit unsigned addresses, ordered by start: the shape of
 * QEMU's per-domain GTree of mappings and of the driver's interval tree. Not thread-safe; its
 * owner locks.
 */
final class IntervalMap<V> {

    /** One interval {@code [start, end]}, both inclusive. */
    record Interval<V>(long start, long end, V value) {
        /** Size in bytes; 0 stands for the whole 2^64 space. */
        long size() {
            return end - start + 1;
        }

        boolean within(long first, long last) {
            return Long.compareUnsigned(first, start) <= 0 && Long.compareUnsigned(end, last) <= 0;
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Interval<?> i && i.start == start && i.end == end
                    && Objects.equals(i.value, value);
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Long.hashCode(start) + Long.hashCode(end)) + Objects.hashCode(value);
        }

        @Override
        public String toString() {
            return "Interval[start=" + start + ", end=" + end + ", value=" + value + "]";
        }
    }

    private final TreeMap<Long, Interval<V>> byStart = new TreeMap<>(Long::compareUnsigned);

    /** The interval containing {@code addr}, or null. */
    Interval<V> find(long addr) {
        Map.Entry<Long, Interval<V>> e = byStart.floorEntry(addr);
        return e != null && Long.compareUnsigned(addr, e.getValue().end) <= 0 ? e.getValue()
                : null;
    }

    /** Intervals meeting {@code [first, last]}, in ascending order. */
    List<Interval<V>> overlapping(long first, long last) {
        List<Interval<V>> out = new ArrayList<>();
        if (Long.compareUnsigned(first, last) > 0) {
            return out;
        }
        Interval<V> before = find(first);
        if (before != null) {
            out.add(before);
        }
        for (Interval<V> i : byStart.subMap(first, before == null, last, true).values()) {
            out.add(i);
        }
        return out;
    }

    boolean overlaps(long first, long last) {
        return !overlapping(first, last).isEmpty();
    }

    /** Adds an interval; the caller has checked that it overlaps nothing. */
    void put(long start, long end, V value) {
        if (Long.compareUnsigned(start, end) > 0 || overlaps(start, end)) {
            throw new IllegalStateException("interval [" + Request.hex(start) + ","
                    + Request.hex(end) + "] overlaps or is empty");
        }
        byStart.put(start, new Interval<>(start, end, value));
    }

    Interval<V> remove(long start) {
        return byStart.remove(start);
    }

    List<Interval<V>> all() {
        return new ArrayList<>(byStart.values());
    }

    int size() {
        return byStart.size();
    }

    boolean isEmpty() {
        return byStart.isEmpty();
    }

    void clear() {
        byStart.clear();
    }
}

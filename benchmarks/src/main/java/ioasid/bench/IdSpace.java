package ioasid.bench;

import ioasid.api.Ioasid;

/**
 * One way of keeping a 20-bit ID space: the platform's core, or a baseline a Java user would
 * write instead. Every implementation hands out the lowest free ID in the range, refuses ID 0,
 * answers a lookup with the object allocated for the ID, and checks that the ID belongs to the
 * owner the space was made for, as the core's set check does.
 */
public interface IdSpace {
    /** The highest ID, as in the core: a 20-bit space with ID 0 reserved. */
    int MAX = Ioasid.MAX_ID;

    /** @return the handle of a new ID, the lowest free one in [min, max] */
    Object alloc(int min, int max);

    /** Frees the ID of a handle {@link #alloc} returned. */
    void free(Object handle);

    /** @return the handle of a live ID */
    Object find(int id);

    int id(Object handle);

    /** The kinds measured side by side; {@code @Param} names in the benchmarks. */
    enum Kind {
        /** The platform's core, as shipped. */
        core,
        /** {@code java.util.BitSet} and {@code HashMap} under one lock. */
        bitset,
        /** {@code ConcurrentHashMap} and a {@code ConcurrentSkipListSet} of free IDs. */
        concurrent,
        /** A plain direct-indexed table with a free bitmap. */
        direct;

        public IdSpace create() {
            switch (this) {
                case core:
                    return new CoreSpace();
                case bitset:
                    return new BitSetSpace();
                case concurrent:
                    return new ConcurrentSpace();
                default:
                    return new DirectTableSpace();
            }
        }
    }
}

package ioasid.testkit.contracts;

import java.util.BitSet;
import java.util.EnumSet;
import java.util.Set;

import ioasid.api.Ioasid;
import ioasid.api.spi.IoasidAllocator;

/*
 * A lowest-free allocator over a space of `capacity` IDs from `first` on; allocators made with
 * the same Space share it (their helpers). Each Mutation breaks one thing the core relies on.
 */
final class SimpleAllocator implements IoasidAllocator {
    enum Mutation {
        /** Answers the lowest free ID of the space, whatever range was asked (rule 30's VCMD). */
        IGNORES_RANGE,
        /** Never marks an ID taken: hands the same one out again. */
        DUPLICATES,
        /** Throws when the space is full instead of answering INVALID. */
        THROWS_WHEN_FULL,
        /** Loses what is freed. */
        LOSES_FREES,
        /** Takes an ID for itself when its backing fails. */
        LEAKS_ON_FAILURE
    }

    /** The ID space, which is also the helper identity. */
    static final class Space {
        final int first;
        final int capacity;
        final BitSet used = new BitSet();
        boolean broken;

        Space(int first, int capacity) {
            this.first = first;
            this.capacity = capacity;
        }

        @Override
        public String toString() {
            return "space of " + capacity + " from " + first;
        }
    }

    final Space space;
    private final Set<Mutation> mutations;

    SimpleAllocator(Space space, Set<Mutation> mutations) {
        this.space = space;
        this.mutations = mutations.isEmpty() ? EnumSet.noneOf(Mutation.class)
                : EnumSet.copyOf(mutations);
    }

    @Override
    public int alloc(int min, int max) {
        int lo = mutations.contains(Mutation.IGNORES_RANGE) ? space.first
                : Math.max(min, space.first);
        int hi = Math.min(max, space.first + space.capacity - 1);
        for (int id = lo; id <= hi; id++) {
            if (!space.used.get(id - space.first)) {
                if (space.broken) {
                    if (mutations.contains(Mutation.LEAKS_ON_FAILURE)) {
                        space.used.set(id - space.first);
                    }
                    return Ioasid.INVALID;
                }
                if (!mutations.contains(Mutation.DUPLICATES)) {
                    space.used.set(id - space.first);
                }
                return id;
            }
        }
        if (mutations.contains(Mutation.THROWS_WHEN_FULL)) {
            throw new IllegalStateException("no ID left");
        }
        return Ioasid.INVALID;
    }

    @Override
    public void free(int id) {
        if (!mutations.contains(Mutation.LOSES_FREES)) {
            space.used.clear(id - space.first);
        }
    }

    @Override
    public Object helpers() {
        return space;
    }
}

package ioasid.bench;

/** Setup helpers shared by the benchmarks. */
final class Fill {
    private Fill() {
    }

    /** Allocates {@code n} IDs, lowest first, and returns their handles. */
    static Object[] live(IdSpace space, int n) {
        Object[] handles = new Object[n];
        for (int i = 0; i < n; i++) {
            handles[i] = space.alloc(1, IdSpace.MAX);
        }
        return handles;
    }

    /** {@code count} IDs drawn at random from the handles, for lookups. */
    static int[] sample(IdSpace space, Object[] handles, int count, long seed) {
        java.util.SplittableRandom r = new java.util.SplittableRandom(seed);
        int[] ids = new int[count];
        for (int i = 0; i < count; i++) {
            ids[i] = space.id(handles[r.nextInt(handles.length)]);
        }
        return ids;
    }
}

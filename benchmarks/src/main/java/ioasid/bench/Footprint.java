package ioasid.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.MemoryMXBean;
import java.lang.ref.Reference;
import java.util.LinkedHashMap;
import java.util.Map;

/**
 * Benchmark 3, memory: the heap a full space holds, everything reachable from it included
 * (handles, tables, bitmaps, maps, boxed keys), per live ID. Measured as the difference in used
 * heap after full collections before and after filling, which counts every byte the space keeps.
 */
public final class Footprint {
    private Footprint() {
    }

    /** Bytes per live ID with all 2^20 - 1 IDs allocated, per kind. */
    public static Map<IdSpace.Kind, Double> measure() {
        Map<IdSpace.Kind, Double> out = new LinkedHashMap<>();
        for (IdSpace.Kind kind : IdSpace.Kind.values()) {
            out.put(kind, bytesPerId(kind));
        }
        return out;
    }

    static double bytesPerId(IdSpace.Kind kind) {
        long before = usedAfterGc();
        IdSpace space = kind.create();
        for (int i = 0; i < IdSpace.MAX; i++) {
            space.alloc(1, IdSpace.MAX);
        }
        long after = usedAfterGc();
        Reference.reachabilityFence(space);
        return (double) (after - before) / IdSpace.MAX;
    }

    private static long usedAfterGc() {
        MemoryMXBean mem = ManagementFactory.getMemoryMXBean();
        long used = Long.MAX_VALUE;
        // repeat until the figure settles: one System.gc() may leave finalizable or soft garbage
        for (int i = 0; i < 5; i++) {
            System.gc();
            long now = mem.getHeapMemoryUsage().getUsed();
            if (Math.abs(now - used) < 64 * 1024) {
                return Math.min(now, used);
            }
            used = now;
        }
        return used;
    }

    public static void main(String[] args) {
        measure().forEach((k, v) -> System.out.printf("%-10s %6.1f bytes per live ID%n", k, v));
    }
}

package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.G1;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.M2;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.RW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/**
 * Seeded random map/unmap sequences against a small reference model of io-pgtable-arm's table
 * structure (blocks, tables, splits, freed subtrees), checked through translate and iova_to_phys.
 */
class ModelBasedTest {
    private static final Object TABLE = new Object();
    private static final long WINDOW = 4 * G1;

    /** The reference: level-1 and level-2 entries (a PA for a block, or TABLE) and pages. */
    private static final class Ref {
        final Map<Long, Object> l1 = new HashMap<>();
        final Map<Long, Object> l2 = new HashMap<>();
        final Map<Long, Long> l3 = new HashMap<>();
        boolean l0;

        long lookup(long va) {
            Object e1 = l1.get(va >>> 30);
            if (e1 == null) {
                return -1;
            }
            if (e1 != TABLE) {
                return (Long) e1 + (va & (G1 - 1));
            }
            Object e2 = l2.get(va >>> 21);
            if (e2 == null) {
                return -1;
            }
            if (e2 != TABLE) {
                return (Long) e2 + (va & (M2 - 1));
            }
            Long p = l3.get(va >>> 12);
            return p == null ? -1 : p + (va & (K4 - 1));
        }

        boolean l2HasLeaves(long i2) {
            Object e2 = l2.get(i2);
            if (e2 == null) {
                return false;
            }
            if (e2 != TABLE) {
                return true;
            }
            for (long p = i2 << 9; p < (i2 + 1) << 9; p++) {
                if (l3.containsKey(p)) {
                    return true;
                }
            }
            return false;
        }

        boolean l1HasLeaves(long i1) {
            Object e1 = l1.get(i1);
            if (e1 == null) {
                return false;
            }
            if (e1 != TABLE) {
                return true;
            }
            for (long i2 = i1 << 9; i2 < (i1 + 1) << 9; i2++) {
                if (l2HasLeaves(i2)) {
                    return true;
                }
            }
            return false;
        }

        boolean conflict(long va, long pgsize) {
            Object e1 = l1.get(va >>> 30);
            if (pgsize == G1) {
                return e1 != null && (e1 != TABLE || l1HasLeaves(va >>> 30));
            }
            if (e1 != null && e1 != TABLE) {
                return true;
            }
            if (e1 == null) {
                return false;
            }
            Object e2 = l2.get(va >>> 21);
            if (pgsize == M2) {
                return e2 != null && (e2 != TABLE || l2HasLeaves(va >>> 21));
            }
            if (e2 != null && e2 != TABLE) {
                return true;
            }
            return e2 != null && l3.containsKey(va >>> 12);
        }

        void freeL2(long i2) {
            for (long p = i2 << 9; p < (i2 + 1) << 9; p++) {
                l3.remove(p);
            }
            l2.remove(i2);
        }

        void freeL1(long i1) {
            for (long i2 = i1 << 9; i2 < (i1 + 1) << 9; i2++) {
                freeL2(i2);
            }
            l1.remove(i1);
        }

        void map(long va, long pa, long pgsize) {
            l0 = true;
            if (pgsize == G1) {
                freeL1(va >>> 30);
                l1.put(va >>> 30, pa);
                return;
            }
            l1.putIfAbsent(va >>> 30, TABLE);
            if (pgsize == M2) {
                freeL2(va >>> 21);
                l2.put(va >>> 21, pa);
                return;
            }
            l2.putIfAbsent(va >>> 21, TABLE);
            l3.put(va >>> 12, pa);
        }

        /** One unmap; false at a hole. */
        boolean unmap(long va, long pgsize) {
            if (!l0) {
                return false;
            }
            long i1 = va >>> 30;
            Object e1 = l1.get(i1);
            if (e1 == null) {
                return false;
            }
            if (pgsize == G1) {
                freeL1(i1);
                return true;
            }
            if (e1 != TABLE) { // split the 1G block into 2M blocks
                l1.put(i1, TABLE);
                for (int i = 0; i < 512; i++) {
                    l2.put((i1 << 9) + i, (Long) e1 + i * M2);
                }
            }
            long i2 = va >>> 21;
            Object e2 = l2.get(i2);
            if (e2 == null) {
                return false;
            }
            if (pgsize == M2) {
                freeL2(i2);
                return true;
            }
            if (e2 != TABLE) { // split the 2M block into pages
                l2.put(i2, TABLE);
                for (int i = 0; i < 512; i++) {
                    l3.put((i2 << 9) + i, (Long) e2 + i * K4);
                }
            }
            return l3.remove(va >>> 12) != null;
        }
    }

    @Test
    @DisplayName("rules 57-58: random map/unmap sequences match a reference io-pgtable-arm model "
            + "(EEXIST atomicity, splits, holes, freed tables) through the SMMU walk")
    void randomSequences() {
        long base = System.nanoTime();
        for (int run = 0; run < 12; run++) {
            long seed = base + run;
            try {
                runSequence(seed, 250);
            } catch (AssertionError e) {
                throw new AssertionError("replay with seed " + seed + ": " + e.getMessage(), e);
            }
        }
    }

    private void runSequence(long seed, int steps) {
        Random rnd = new Random(seed);
        Smmuv3Fixture fx = new Smmuv3Fixture();
        Smmuv3Domain blocked = fx.alloc(DomainType.BLOCKED);
        long memBefore = fx.smmu.mem.used();
        Smmuv3Domain d = fx.paging();
        long pgd = fx.smmu.mem.used() - memBefore;
        fx.b.attachDev(GPU, d);
        long memAttached = fx.smmu.mem.used();
        Ref ref = new Ref();
        List<Long> probes = new ArrayList<>();
        for (int step = 0; step < steps; step++) {
            long pgsize = pick(rnd);
            long va = (rnd.nextLong() & (WINDOW - 1)) & -pgsize;
            if (rnd.nextInt(4) == 0 && !probes.isEmpty()) {
                va = probes.get(rnd.nextInt(probes.size())) & -pgsize; // revisit used ranges
            }
            int count = 1 + rnd.nextInt(3);
            if (va + count * pgsize > WINDOW) {
                count = 1;
            }
            if (rnd.nextInt(5) < 3) {
                long pa = (rnd.nextLong() & ((1L << 40) - 1)) & -pgsize;
                boolean clash = false;
                for (int i = 0; i < count; i++) {
                    clash |= ref.conflict(va + i * pgsize, pgsize);
                }
                try {
                    d.mapPages(va, pa, pgsize, count, RW);
                    if (clash) {
                        fail("step " + step + ": map " + Long.toHexString(va) + " should clash");
                    }
                    for (int i = 0; i < count; i++) {
                        ref.map(va + i * pgsize, pa + i * pgsize, pgsize);
                    }
                } catch (IoasidException e) {
                    assertEquals(Errno.EEXIST, e.errno(), "step " + step);
                    if (!clash) {
                        fail("step " + step + ": unexpected " + e.getMessage());
                    }
                }
            } else {
                long expected = 0;
                for (int i = 0; i < count && ref.unmap(va + i * pgsize, pgsize); i++) {
                    expected += pgsize;
                }
                IotlbGather g = new IotlbGather();
                assertEquals(expected, d.unmapPages(va, pgsize, count, g), "step " + step
                        + " unmap " + Long.toHexString(va) + " x" + count + " of "
                        + Long.toHexString(pgsize));
                d.iotlbSync(g);
            }
            probes.add(va + (rnd.nextLong() & (pgsize - 1)));
            probes.add(va + count * pgsize - 1);
            for (int i = 0; i < 6; i++) {
                long probe = i < 2 ? probes.get(rnd.nextInt(probes.size()))
                        : rnd.nextLong() & (WINDOW - 1);
                check(fx, d, ref, probe, step);
            }
        }
        for (long probe : probes) {
            check(fx, d, ref, probe, steps);
        }
        fx.b.attachDev(GPU, blocked);
        d.free();
        assertEquals(memAttached - pgd, fx.smmu.mem.used(), "every table went back");
    }

    private static long pick(Random rnd) {
        int r = rnd.nextInt(10);
        return r < 6 ? K4 : r < 9 ? M2 : G1;
    }

    private static void check(Smmuv3Fixture fx, Smmuv3Domain d, Ref ref, long va, int step) {
        long want = ref.lookup(va);
        assertEquals(want < 0 ? 0 : want, d.iovaToPhys(va), "iova_to_phys " + Long.toHexString(va)
                + " after step " + step);
        Walk w = fx.read(GPU, va);
        if (want < 0) {
            assertEquals(Smmu.F_TRANSLATION, w.fault(), "walk " + Long.toHexString(va)
                    + " after step " + step);
        } else {
            assertEquals(want, w.physAddr(), "walk " + Long.toHexString(va) + " after step "
                    + step);
        }
    }
}

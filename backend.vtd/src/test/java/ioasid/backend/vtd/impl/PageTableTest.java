package ioasid.backend.vtd.impl;

import static ioasid.backend.vtd.impl.VtdFixture.G1;
import static ioasid.backend.vtd.impl.VtdFixture.K4;
import static ioasid.backend.vtd.impl.VtdFixture.M2;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Random;
import java.util.TreeMap;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IotlbGather;

/** Second-level page tables in the x86 4-level format: map, unmap, their errors. */
class PageTableTest {
    private final VtdFixture r = new VtdFixture(VtdFixture.bare().build());
    private final VtdDomain d = r.paging();

    @Test
    @DisplayName("section 2 (VT-d): second-level entries: R bit 0, W bit 1, PS bit 7 for 2M/1G "
            + "leaves, address 51:12; 512-entry tables, interior entries R|W")
    void entryFormat() {
        long iova = 0x0000_7f12_3456_7000L;
        d.mapPages(iova, 0x000f_ffff_0000_0000L, K4, 1, Prot.READ);
        SlPageTable t = d.table();
        long l4 = t.rawEntry(iova, 4);
        assertEquals(3, l4 & 0xfff, "interior: R|W, no PS");
        assertEquals(512, r.unit.mem.table(l4 & SlPageTable.ADDR_MASK).length);
        long leaf = t.rawEntry(iova, 1);
        assertEquals(0x000f_ffff_0000_0000L | 1, leaf, "R only, no PS at level 1");
        d.mapPages(M2 * 3, 0x4000_0000L, M2, 1, Prot.READ | Prot.WRITE);
        assertEquals(0x4000_0000L | 3 | (1 << 7), t.rawEntry(M2 * 3, 2), "2 MiB leaf with PS");
        d.mapPages(G1 * 5, 0x1_0000_0000L * 64, G1, 1, Prot.WRITE);
        assertEquals(0x1_0000_0000L * 64 | 2 | (1 << 7), t.rawEntry(G1 * 5, 3), "1 GiB leaf, W only");
        assertEquals(0x000f_ffff_0000_0000L + 0x12, d.iovaToPhys(iova + 0x12));
        assertEquals(0x4000_0000L + 0x1234, d.iovaToPhys(M2 * 3 + 0x1234));
        assertEquals(0, d.iovaToPhys(0x5000));
    }

    @Test
    @DisplayName("rule 57, D2: mapping over a mapped page is EEXIST and nothing of the call stays "
            + "mapped; no table page is allocated")
    void mapExisting() {
        d.mapPages(0x5000, 0xa000, K4, 1, Prot.READ);
        r.unchanged(Errno.EEXIST, () -> d.mapPages(0x2000, 0x100000, K4, 8, Prot.READ));
        assertEquals(0, d.iovaToPhys(0x2000), "the pages before the conflict are not mapped");
        // a 2 MiB page over a table holding a 4 KiB leaf, and a 4 KiB page under a superpage
        r.unchanged(Errno.EEXIST, () -> d.mapPages(0, 0x200000, M2, 1, Prot.READ));
        d.mapPages(M2 * 8, 0x400000, M2, 1, Prot.READ);
        r.unchanged(Errno.EEXIST, () -> d.mapPages(M2 * 8 + 0x3000, 0x1000, K4, 1, Prot.READ));
        r.unchanged(Errno.EEXIST, () -> d.mapPages(0, 0, G1, 1, Prot.READ));
    }

    @Test
    @DisplayName("D2: map argument errors are EINVAL (size, alignment, permissions, physical "
            + "width) or EFAULT (beyond the 48-bit IOVA width), and change nothing")
    void mapArgumentErrors() {
        r.unchanged(Errno.EINVAL, () -> d.mapPages(0, 0, 1L << 13, 1, Prot.READ));
        r.unchanged(Errno.EINVAL, () -> d.mapPages(0x1000, 0, M2, 1, Prot.READ));
        r.unchanged(Errno.EINVAL, () -> d.mapPages(0, 0x1000, M2, 1, Prot.READ));
        r.unchanged(Errno.EINVAL, () -> d.mapPages(0, 0, K4, 0, Prot.READ));
        r.unchanged(Errno.EINVAL, () -> d.mapPages(0, 0, K4, 1, Prot.CACHE));
        r.unchanged(Errno.EINVAL, () -> d.mapPages(0, 1L << 52, K4, 1, Prot.READ));
        r.unchanged(Errno.EFAULT, () -> d.mapPages((1L << 48) - K4, 0, K4, 2, Prot.READ));
        r.unchanged(Errno.EFAULT, () -> d.mapPages(1L << 48, 0, K4, 1, Prot.READ));
        VtdDomain id = r.alloc(DomainType.IDENTITY);
        r.unchanged(Errno.EINVAL, () -> id.mapPages(0, 0, K4, 1, Prot.READ));
        assertEquals(0, id.pgsizeBitmap());
        assertEquals(0x4321, id.iovaToPhys(0x4321), "identity maps 1:1");
        assertEquals(K4 | M2 | G1, d.pgsizeBitmap());
        assertEquals((1L << 48) - 1, d.apertureEnd());
    }

    @Test
    @DisplayName("rule 58: unmapping part of a superpage unmaps the whole superpage (the \"horrid "
            + "API\") and reports its size")
    void partialSuperpageUnmap() {
        d.mapPages(M2 * 4, 0x800000, M2, 1, Prot.READ);
        IotlbGather g = new IotlbGather();
        assertEquals(M2, d.unmapPages(M2 * 4 + 0x5000, K4, 1, g));
        assertEquals(M2 * 4, g.start());
        assertEquals(M2 * 5 - 1, g.end());
        assertEquals(M2, g.pgsize());
        assertEquals(0, d.iovaToPhys(M2 * 4));
        d.mapPages(0, 0x40000000L, G1, 1, Prot.READ);
        assertEquals(G1, d.unmapPages(M2, M2, 3, new IotlbGather()), "one 1 GiB leaf covers all");
    }

    @Test
    @DisplayName("rule 58: unmapPages stops at the first hole and returns the bytes unmapped so far")
    void unmapStopsAtHole() {
        d.mapPages(0x10000, 0x200000, K4, 3, Prot.READ);
        d.mapPages(0x14000, 0x300000, K4, 2, Prot.READ);
        IotlbGather g = new IotlbGather();
        assertEquals(3 * K4, d.unmapPages(0x10000, K4, 6, g));
        assertEquals(0x10000, g.start());
        assertEquals(0x12fff, g.end());
        assertEquals(0x300000, d.iovaToPhys(0x14000), "past the hole stays mapped");
        assertEquals(0, d.unmapPages(0x10000, K4, 1, new IotlbGather()), "a hole at once: 0");
        assertEquals(0, d.unmapPages(0x10001, K4, 1, new IotlbGather()), "misaligned: 0");
    }

    @Test
    @DisplayName("rule 57: a superpage may replace an empty table left by earlier unmaps; the "
            + "table's page is freed")
    void superpageOverEmptyTable() {
        d.mapPages(M2 * 2 + K4, 0x1000, K4, 1, Prot.READ);
        d.unmapPages(M2 * 2 + K4, K4, 1, null);
        long live = r.unit.mem.livePages();
        d.mapPages(M2 * 2, 0x600000, M2, 1, Prot.READ | Prot.WRITE);
        assertEquals(live - 1, r.unit.mem.livePages(), "the empty level-1 table is gone");
        assertEquals(0x600000 + 0x10, d.iovaToPhys(M2 * 2 + 0x10));
    }

    @Test
    @DisplayName("rules 57, 58: seeded random map/unmap sequences agree with a reference model "
            + "(replay with -Dioasid.vtd.seed=N)")
    void modelBased() {
        long seed = Long.getLong("ioasid.vtd.seed", System.nanoTime());
        Random rnd = new Random(seed);
        for (int round = 0; round < 30; round++) {
            VtdFixture rig = new VtdFixture(VtdFixture.bare().build());
            VtdDomain dom = rig.paging();
            TreeMap<Long, long[]> model = new TreeMap<>(); // base -> {size, pa}
            for (int op = 0; op < 200; op++) {
                long[] sizes = {K4, K4, K4, M2};
                long size = sizes[rnd.nextInt(sizes.length)];
                long iova = (rnd.nextInt(2048) * K4) & ~(size - 1);
                long pa = (rnd.nextInt(1 << 16) * size) & ((1L << 40) - 1);
                String ctx = "seed " + seed + " round " + round + " op " + op;
                if (rnd.nextBoolean()) {
                    boolean clash = overlaps(model, iova, size);
                    try {
                        dom.mapPages(iova, pa, size, 1, Prot.READ);
                        assertTrue(!clash, ctx + ": map over a mapping succeeded");
                        model.put(iova, new long[] {size, pa});
                    } catch (ioasid.api.IoasidException e) {
                        assertEquals(Errno.EEXIST, e.errno(), ctx);
                        // a superpage over an empty table succeeds in the hardware, so only a
                        // real overlap may fail
                        assertTrue(clash, ctx + ": EEXIST without an overlap");
                    }
                } else {
                    long expected = 0;
                    java.util.Map.Entry<Long, long[]> cov = model.floorEntry(iova);
                    if (cov != null && cov.getKey() + cov.getValue()[0] > iova) {
                        expected = cov.getValue()[0];
                        model.remove(cov.getKey());
                    }
                    assertEquals(expected, dom.unmapPages(iova, K4, 1, new IotlbGather()), ctx);
                }
                long probe = rnd.nextInt(2048) * K4 + rnd.nextInt((int) K4);
                java.util.Map.Entry<Long, long[]> cov = model.floorEntry(probe);
                long want = cov != null && cov.getKey() + cov.getValue()[0] > probe
                        ? cov.getValue()[1] + probe - cov.getKey() : 0;
                assertEquals(want, dom.iovaToPhys(probe), ctx + " probe 0x" + Long.toHexString(probe));
            }
        }
    }

    private static boolean overlaps(TreeMap<Long, long[]> model, long iova, long size) {
        java.util.Map.Entry<Long, long[]> below = model.floorEntry(iova + size - 1);
        return below != null && below.getKey() + below.getValue()[0] > iova;
    }
}

package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.G1;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.M2;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.RW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IotlbGather;

/** The ARMv8 LPAE stage-1 format and io-pgtable-arm's map/unmap rules (rules 57, 58). */
class PageTableTest {
    private final Smmuv3Fixture fx = new Smmuv3Fixture();
    private final Smmuv3Domain d = fx.paging();
    private final PhysMem mem = fx.smmu.mem;

    /** The descriptors read from the top-level table down to the leaf (or the first invalid). */
    private List<Long> path(long va) {
        List<Long> out = new ArrayList<>();
        long table = d.pgtable.ttb();
        for (int level = d.pgtable.startLevel; level <= 3; level++) {
            long pte = mem.read(table + 8 * ((va >>> IoPgtable.shift(level)) & 511));
            out.add(pte);
            if ((pte & 3) != 3 || level == 3) {
                break;
            }
            table = pte & Bits.mask(47, 12);
        }
        return out;
    }

    @Test
    @DisplayName("section 2/rule 57: a 4K page is three table descriptors (0b11) and a level-3 "
            + "page descriptor (0b11) with OA 47:12, AF, SH, nG, AP")
    void pageDescriptor() {
        d.mapPages(0x12_3456_7000L, 0xabc_d000L, K4, 1, RW);
        List<Long> p = path(0x12_3456_7000L);
        assertEquals(4, p.size());
        for (int i = 0; i < 3; i++) {
            assertEquals(3, p.get(i) & 3, "table descriptor at level " + i);
            assertTrue(mem.region(p.get(i) & Bits.mask(47, 12)) != null, "points at a table");
        }
        long pte = p.get(3);
        assertEquals(3, pte & 3);
        assertEquals(0xabc_d000L, pte & Bits.mask(47, 12));
        assertTrue(Bits.bit(pte, 10), "AF");
        assertEquals(3, Bits.get(pte, 9, 8), "SH inner shareable");
        assertTrue(Bits.bit(pte, 11), "nG");
        assertFalse(Bits.bit(pte, 7), "AP[2] clear: writable");
        assertTrue(Bits.bit(pte, 6), "AP[1]: unprivileged");
        assertEquals(0xabc_d000L + 0x89, d.iovaToPhys(0x12_3456_7089L));
    }

    @Test
    @DisplayName("section 2: read-only mappings set AP[2] (bit 7) and writes fault F_PERMISSION")
    void readOnly() {
        fx.b.attachDev(GPU, d);
        d.mapPages(0x1000, 0x5000, K4, 1, Prot.READ | Prot.NOEXEC);
        long pte = path(0x1000).get(3);
        assertTrue(Bits.bit(pte, 7));
        assertEquals(3, Bits.get(pte, 54, 53), "XN");
        assertEquals(0x5000, fx.read(GPU, 0x1000).physAddr());
        assertEquals(Smmu.F_PERMISSION, fx.tr(GPU, 0, 0x1000, Access.WRITE).fault());
        // The TLB entry the read filled enforces the same permission.
        assertEquals(Smmu.F_PERMISSION, fx.tr(GPU, 0, 0x1000, Access.WRITE).fault());
    }

    @Test
    @DisplayName("section 2: 2M and 1G mappings are block descriptors (0b01) at levels 2 and 1")
    void blockDescriptors() {
        d.mapPages(M2 * 3, M2 * 7, M2, 1, RW);
        d.mapPages(G1 * 5, G1 * 2, G1, 1, RW);
        List<Long> p2 = path(M2 * 3);
        assertEquals(3, p2.size());
        assertEquals(1, p2.get(2) & 3);
        assertEquals(M2 * 7, p2.get(2) & Bits.mask(47, 12));
        List<Long> p1 = path(G1 * 5);
        assertEquals(2, p1.size());
        assertEquals(1, p1.get(1) & 3);
        assertEquals(G1 * 2 + 0x12345, d.iovaToPhys(G1 * 5 + 0x12345));
        assertEquals(M2 * 7 + 0x1234, d.iovaToPhys(M2 * 3 + 0x1234));
    }

    @Test
    @DisplayName("rule 57: mapping over an existing entry is EEXIST and nothing of the call stays "
            + "mapped")
    void eexistAtomic() {
        d.mapPages(0x3000, 0x9000, K4, 1, RW);
        fx.unchanged(Errno.EEXIST, () -> d.mapPages(0x1000, 0x1000, K4, 3, RW));
        assertEquals(0, d.iovaToPhys(0x1000));
        assertEquals(0, d.iovaToPhys(0x2000));
        // A page inside an existing block, and a block over a table that maps something.
        d.mapPages(M2 * 4, 0, M2, 1, RW);
        fx.unchanged(Errno.EEXIST, () -> d.mapPages(M2 * 4 + K4, K4, K4, 1, RW));
        fx.unchanged(Errno.EEXIST, () -> d.mapPages(0, 0, M2, 1, RW));
        fx.unchanged(Errno.EEXIST, () -> d.mapPages(0, 0, G1, 1, RW));
    }

    @Test
    @DisplayName("rule 57: bad arguments are EINVAL or ERANGE and leave the table unchanged")
    void mapArgumentErrors() {
        d.mapPages(0, 0, K4, 1, RW);
        fx.unchanged(Errno.EINVAL, () -> d.mapPages(0x1000, 0x1000, 0x2000, 1, RW));
        fx.unchanged(Errno.EINVAL, () -> d.mapPages(0x1800, 0x1000, K4, 1, RW));
        fx.unchanged(Errno.EINVAL, () -> d.mapPages(0x1000, 0x1000, K4, 0, RW));
        fx.unchanged(Errno.EINVAL, () -> d.mapPages(0x1000, 0x1000, K4, 1, Prot.CACHE));
        fx.unchanged(Errno.ERANGE, () -> d.mapPages(1L << 48, 0, K4, 1, RW));
        fx.unchanged(Errno.ERANGE, () -> d.mapPages((1L << 48) - K4, 0, K4, 2, RW));
        fx.unchanged(Errno.ERANGE, () -> d.mapPages(0x1000, 1L << 48, K4, 1, RW));
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        fx.unchanged(Errno.EINVAL, () -> id.mapPages(0, 0, K4, 1, RW));
        assertEquals(0, id.unmapPages(0, K4, 1, new IotlbGather())); // rule 58
    }

    @Test
    @DisplayName("rule 57: ENOMEM in the middle of a map undoes the call, tables included")
    void mapEnomemRollback() {
        d.mapPages(0, 0, K4, 1, RW);
        mem.limit(mem.used() + 2 * 4096); // two new tables fit, the third does not
        long va = 3L << 39; // another level-0 slot: needs new L1, L2 and L3 tables
        fx.unchanged(Errno.ENOMEM, () -> d.mapPages(va, 0, K4, 2, RW));
        assertEquals(0, d.iovaToPhys(va));
        mem.limit(1L << 30);
        d.mapPages(va, 0x5000, K4, 2, RW);
        assertEquals(0x6000, d.iovaToPhys(va + K4));
    }

    @Test
    @DisplayName("rule 58: unmap returns the bytes unmapped and stops at the first hole")
    void unmapStopsAtHole() {
        d.mapPages(0x10000, 0x50000, K4, 3, RW);
        d.mapPages(0x14000, 0x54000, K4, 1, RW);
        IotlbGather g = new IotlbGather();
        assertEquals(3 * K4, d.unmapPages(0x10000, K4, 5, g));
        assertEquals(0x10000, g.start());
        assertEquals(0x12fff, g.end());
        assertEquals(0x54000, d.iovaToPhys(0x14000));
        assertEquals(0, d.unmapPages(0x10000, K4, 1, new IotlbGather()));
        assertEquals(0, d.unmapPages(0x14800, K4, 1, new IotlbGather()), "misaligned");
    }

    @Test
    @DisplayName("rule 58/io-pgtable-arm: unmapping 4K inside a 2M block splits it into a "
            + "level-3 table and keeps the rest mapped")
    void splitBlock() {
        d.mapPages(M2, 0x4000_0000L, M2, 1, Prot.READ);
        IotlbGather g = new IotlbGather();
        assertEquals(K4, d.unmapPages(M2 + 5 * K4, K4, 1, g));
        assertEquals(K4, g.pgsize());
        List<Long> p = path(M2 + 6 * K4);
        assertEquals(3, p.get(2) & 3, "level 2 is a table now");
        long page = p.get(3);
        assertEquals(0x4000_0000L + 6 * K4, page & Bits.mask(47, 12));
        assertTrue(Bits.bit(page, 7), "attributes carried over (read-only)");
        assertEquals(0, d.iovaToPhys(M2 + 5 * K4));
        assertEquals(0x4000_0000L + 4 * K4, d.iovaToPhys(M2 + 4 * K4));
        assertEquals(0x4000_0000L + M2 - K4, d.iovaToPhys(2 * M2 - K4));
    }

    @Test
    @DisplayName("rule 58/io-pgtable-arm: a 1G block splits down two levels for a 4K unmap")
    void splitGigabyte() {
        d.mapPages(G1, 0, G1, 1, RW);
        assertEquals(K4, d.unmapPages(G1 + M2 + K4, K4, 1, new IotlbGather()));
        assertEquals(M2 + 2 * K4, d.iovaToPhys(G1 + M2 + 2 * K4));
        assertEquals(0, d.iovaToPhys(G1 + M2 + K4));
        assertEquals(3 * M2, d.iovaToPhys(G1 + 3 * M2));
        assertEquals(4, path(G1 + M2).size());
    }

    @Test
    @DisplayName("rule 58/io-pgtable-arm: unmapping a table entry at a larger size frees the "
            + "subtree and flushes the walk at once (TLBI_NH_ASID past 512 pages, CMD_SYNC)")
    void unmapTableFlushesWalk() {
        d.mapPages(0, 0x10_0000, K4, 4, RW);
        long regions = mem.regionCount();
        long m = fx.mark();
        IotlbGather g = new IotlbGather();
        assertEquals(M2, d.unmapPages(0, M2, 1, g));
        assertTrue(g.isEmpty(), "nothing left for the sync");
        assertEquals(List.of("TLBI_NH_ASID asid=" + d.asid, "CMD_SYNC"), fx.cmds(m));
        assertEquals(regions - 1, mem.regionCount(), "the level-3 table went back");
        assertEquals(0, d.iovaToPhys(K4));
    }

    @Test
    @DisplayName("rule 57/io-pgtable-arm: a block may replace a table emptied by unmap")
    void blockOverEmptiedTable() {
        d.mapPages(0, 0, K4, 1, RW);
        fx.unmapSync(d, 0, K4, 1);
        long regions = mem.regionCount();
        d.mapPages(0, M2 * 9, M2, 1, RW);
        assertEquals(regions - 1, mem.regionCount());
        assertEquals(M2 * 9 + 0x42, d.iovaToPhys(0x42));
    }

    @Test
    @DisplayName("section 2: IAS 39 gives three levels starting at level 1; IAS 44 a 32-entry "
            + "level-0 table")
    void startLevels() {
        Smmuv3Fixture f39 = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withAddressBits(39, 48));
        Smmuv3Domain d39 = f39.paging();
        assertEquals(1, d39.pgtable.startLevel);
        d39.mapPages((1L << 39) - K4, 0x1000, K4, 1, RW);
        assertEquals(0x1000, d39.iovaToPhys((1L << 39) - K4));
        Smmuv3Fixture f44 = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withAddressBits(44, 48));
        Smmuv3Domain d44 = f44.paging();
        assertEquals(0, d44.pgtable.startLevel);
        assertEquals(32 * 8, f44.smmu.mem.region(d44.pgtable.ttb()).bytes());
        d44.mapPages((1L << 44) - G1, 0, G1, 1, RW);
        assertEquals(0x1234, d44.iovaToPhys((1L << 44) - G1 + 0x1234));
    }

    @Test
    @DisplayName("decision D17: freeing a domain gives its tables back")
    void freeReturnsTables() {
        long before = mem.used();
        Smmuv3Domain e = fx.paging();
        e.mapPages(0, 0, K4, 512, RW);
        e.mapPages(G1 * 7, 0, M2, 3, RW);
        assertTrue(mem.used() > before);
        e.free();
        assertEquals(before, mem.used());
    }
}

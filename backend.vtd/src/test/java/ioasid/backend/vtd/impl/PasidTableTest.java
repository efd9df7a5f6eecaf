package ioasid.backend.vtd.impl;

import static ioasid.backend.vtd.impl.VtdFixture.ACC;
import static ioasid.backend.vtd.impl.VtdFixture.ACC_RID;
import static ioasid.backend.vtd.impl.VtdFixture.GPU;
import static ioasid.backend.vtd.impl.VtdFixture.GPU_RID;
import static ioasid.backend.vtd.impl.VtdFixture.NIC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.DomainType;

/** The scalable-mode context entry, PASID directory, PASID tables and entry fields. */
class PasidTableTest {

    @Test
    @DisplayName("section 2 (VT-d): the directory has 8-byte entries, max_pasid >> 3 bytes; each "
            + "points to a 4 KiB table of 64 entries of 64 bytes; dir index pasid >> 6, table "
            + "index pasid & 0x3F")
    void layout() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        PasidTable t = r.driver.device(GPU).table;
        assertEquals(1 << 20, t.maxPasid());
        assertEquals((1 << 20) >> 3, t.dirEntries() * Long.BYTES, "directory bytes");
        VtdDomain d = r.paging();
        r.backend.attachDev(GPU, d);
        int pasid = 0x2345; // dir index 0x8d, table index 5
        r.backend.setDevPasid(GPU, pasid, d);
        long de = t.rawDirEntry(pasid >> 6);
        assertTrue(PasidEntry.dirPresent(de), "present bit 0");
        long tablePa = de & 0xffff_ffff_ffff_f000L;
        long[] page = r.unit.mem.table(tablePa);
        assertEquals(512, page.length, "a 4 KiB table: 64 entries of 8 longs");
        long[] e = PasidEntry.read(page, pasid & 0x3f);
        assertTrue(PasidEntry.present(e));
        assertEquals(d.did(), PasidEntry.did(e));
        assertEquals(0, page[(4 * 8)], "neighbouring entry 4 untouched");
        // only the directory entries in use have tables
        assertFalse(PasidEntry.dirPresent(t.rawDirEntry(1)));
        assertTrue(PasidEntry.dirPresent(t.rawDirEntry(0)), "RID_PASID's table");
        assertEquals(256, r.driver.device(ACC).table.maxPasid(), "min(device 8 bits, unit 20)");
        assertEquals(1, r.driver.device(NIC).table.maxPasid(), "RID_PASID only without PASIDs");
    }

    @Test
    @DisplayName("rule 95: a PASID table is published with compare-and-set; the thread that loses "
            + "the race frees its page and retries with the winner's")
    void tableAllocationRace() throws Exception {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        PasidTable t = r.driver.device(GPU).table;
        CyclicBarrier bothAllocated = new CyclicBarrier(2);
        t.beforePublish = () -> {
            try {
                bothAllocated.await(5, TimeUnit.SECONDS);
            } catch (Exception e) {
                throw new IllegalStateException(e);
            }
        };
        long allocated = r.unit.mem.allocatedPages();
        long freed = r.unit.mem.freedPages();
        ExecutorService pool = Executors.newFixedThreadPool(2);
        try {
            Future<PasidTable.Slot> a = pool.submit(() -> t.entry(0x1c1, true));
            Future<PasidTable.Slot> b = pool.submit(() -> t.entry(0x1c2, true));
            PasidTable.Slot sa = a.get(10, TimeUnit.SECONDS);
            PasidTable.Slot sb = b.get(10, TimeUnit.SECONDS);
            assertSame(sa.table(), sb.table(), "both ended up in the published table");
            assertEquals(1, sa.index());
            assertEquals(2, sb.index());
        } finally {
            pool.shutdownNow();
        }
        assertEquals(1, t.raceLosses());
        assertEquals(allocated + 2, r.unit.mem.allocatedPages(), "each thread allocated a page");
        assertEquals(freed + 1, r.unit.mem.freedPages(), "the loser freed its own");
        long de = t.rawDirEntry(0x1c1 >> 6);
        assertSame(r.unit.mem.table(PasidEntry.dirTable(de)), t.entry(0x1c0, false).table());
    }

    @Test
    @DisplayName("rule 95: programming a present PASID entry is EBUSY, even for the same domain, "
            + "and changes nothing")
    void presentIsBusy() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        VtdDomain b = r.paging();
        r.backend.attachDev(GPU, a);
        r.backend.setDevPasid(GPU, 7, a);
        r.unchanged(Errno.EBUSY, () -> r.backend.setDevPasid(GPU, 7, b));
        r.unchanged(Errno.EBUSY, () -> r.backend.setDevPasid(GPU, 7, a));
        VtdDomain id = r.alloc(DomainType.IDENTITY);
        r.unchanged(Errno.EBUSY, () -> r.backend.setDevPasid(GPU, 7, id));
        assertSame(a, r.driver.domainOf(GPU, 7));
    }

    @Test
    @DisplayName("rule 95: a PASID past the device's table is ENODEV (no entry), PASID 0 and "
            + "negative ones are EINVAL, legacy mode is EOPNOTSUPP; no table page appears")
    void pasidRange() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain d = r.paging();
        r.backend.attachDev(ACC, d);
        r.unchanged(Errno.ENODEV, () -> r.backend.setDevPasid(ACC, 256, d));
        r.unchanged(Errno.ENODEV, () -> r.backend.setDevPasid(NIC, 1, d));
        r.unchanged(Errno.EINVAL, () -> r.backend.setDevPasid(GPU, 0, d));
        r.unchanged(Errno.EINVAL, () -> r.backend.setDevPasid(GPU, -3, d));
        r.unchanged(Errno.ENODEV, () -> r.backend.removeDevPasid(ACC, 300, d));
        r.backend.setDevPasid(ACC, 255, d);
        assertTrue(PasidEntry.present(r.driver.pasidEntry(ACC, 255)));
        VtdFixture legacy = new VtdFixture(VtdFixture.bare().scalableMode(false).build());
        VtdDomain ld = legacy.paging();
        legacy.unchanged(Errno.EOPNOTSUPP, () -> legacy.backend.setDevPasid(GPU, 1, ld));
    }

    @Test
    @DisplayName("section 2 (VT-d): a paging domain's entry is second-level only: P, AW 2, PGTT 2, "
            + "SLPTPTR the table root, DID at bits 79:64, PWSNP with snooped walks")
    void secondLevelEntryFields() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain d = r.paging();
        r.backend.attachDev(GPU, d);
        r.backend.setDevPasid(GPU, 9, d);
        long[] e = r.driver.pasidEntry(GPU, 9);
        assertEquals(8, e.length, "64 bytes");
        assertEquals(1, e[0] & 1, "P");
        assertFalse(PasidEntry.fpd(e), "faults reported");
        assertEquals(2, (e[0] >>> 2) & 7, "AW 4:2 = 48-bit");
        assertEquals(2, (e[0] >>> 6) & 7, "PGTT 8:6 = second-level only");
        assertEquals(d.table().root(), e[0] & 0xffff_ffff_ffff_f000L, "SLPTPTR 63:12");
        assertEquals(d.did(), (int) (e[1] & 0xffff), "DID 79:64");
        assertTrue((e[1] & (1L << 23)) != 0, "PWSNP bit 87");
        assertFalse(PasidEntry.pgsnp(e));
        assertEquals(0, e[2], "no first-level fields");
        VtdFixture nc = new VtdFixture(VtdFixture.bare().coherent(false).build());
        VtdDomain d2 = nc.paging();
        nc.backend.attachDev(GPU, d2);
        assertFalse(PasidEntry.pwsnp(nc.driver.pasidEntry(GPU, 0)), "no snoop without SMPWC");
    }

    @Test
    @DisplayName("section 2 (VT-d): SVA is first-level only (PGTT 1, FLPTPTR at 191:140, FLPM 0); "
            + "identity is pass-through (PGTT 4) with its own DID")
    void firstLevelAndPassThroughFields() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain sva = (VtdDomain) r.backend.svaDomainAlloc(new VtdFixture.Process(5));
        VtdDomain id = r.alloc(DomainType.IDENTITY);
        r.backend.attachDev(GPU, id);
        r.backend.setDevPasid(GPU, 3, sva);
        long[] fl = r.driver.pasidEntry(GPU, 3);
        assertEquals(PasidEntry.PGTT_FL_ONLY, PasidEntry.pgtt(fl));
        assertEquals(sva.flptptr(), fl[2] & 0xffff_ffff_ffff_f000L, "FLPTPTR 191:140");
        assertEquals(0, PasidEntry.flpm(fl), "4-level");
        assertFalse(PasidEntry.sre(fl) || PasidEntry.wpe(fl) || PasidEntry.nxe(fl)
                || PasidEntry.eafe(fl), "user-mode SVA: no SRE, WPE, NXE, EAFE");
        assertEquals(0, PasidEntry.slptptr(fl));
        assertEquals(sva.did(), PasidEntry.did(fl));
        long[] pt = r.driver.pasidEntry(GPU, 0);
        assertEquals(PasidEntry.PGTT_PT, PasidEntry.pgtt(pt));
        assertEquals(id.did(), PasidEntry.did(pt));
        assertEquals(0, PasidEntry.slptptr(pt));
    }

    @Test
    @DisplayName("section 2 (VT-d): the scalable-mode context entry points at the PASID directory "
            + "with PDTS, DTE and PASIDE, RID_PASID 0; devfn >= 0x80 uses the root entry's upper "
            + "half")
    void contextEntry() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain d = r.paging();
        assertNull(r.driver.contextEntry(GPU), "no context table before the first attach");
        r.backend.attachDev(GPU, d);
        r.backend.attachDev(NIC, d);
        r.backend.attachDev(ACC, d);
        long[] ctx = r.driver.contextEntry(GPU);
        assertEquals(4, ctx.length, "256-bit entry");
        PasidTable t = r.driver.device(GPU).table;
        assertEquals(t.dirAddress(), ctx[0] & 0xffff_ffff_ffff_f000L, "PASIDDIRPTR");
        assertEquals(7, (ctx[0] >>> 9) & 7, "PDTS: 2^(7+7) = 16384 directory entries");
        assertEquals(DmarUnit.SM_CTX_P | DmarUnit.SM_CTX_DTE | DmarUnit.SM_CTX_PASIDE,
                ctx[0] & 0x1f, "P, DTE (ATS), PASIDE");
        assertEquals(0, ctx[1] & 0xfffff, "RID_PASID");
        assertEquals(0, r.driver.contextEntry(NIC)[0] & DmarUnit.SM_CTX_PASIDE,
                "no PASIDE for a device without PASIDs");
        long lower = r.unit.rawRootEntry(GPU_RID);
        long upper = r.unit.rawRootEntry(ACC_RID);
        assertTrue((lower & 1) != 0 && (upper & 1) != 0);
        assertEquals(r.unit.mem.table(upper & ~0xfffL),
                r.driver.unit().context(ACC_RID, false).table());
        assertNotNull(r.driver.contextEntry(ACC));
        assertEquals(0, r.driver.contextEntry(ACC)[0] >>> 9 & 7, "256 PASIDs: PDTS 0");
    }
}

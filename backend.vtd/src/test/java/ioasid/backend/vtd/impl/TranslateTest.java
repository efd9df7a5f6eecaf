package ioasid.backend.vtd.impl;

import static ioasid.backend.vtd.impl.VtdFixture.ACC;
import static ioasid.backend.vtd.impl.VtdFixture.G1;
import static ioasid.backend.vtd.impl.VtdFixture.GPU;
import static ioasid.backend.vtd.impl.VtdFixture.GPU_RID;
import static ioasid.backend.vtd.impl.VtdFixture.K4;
import static ioasid.backend.vtd.impl.VtdFixture.NIC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;
import ioasid.testkit.Expect;

/** The translation probe against the tables and caches (D18, rules 57, 58). */
class TranslateTest {
    private static final String W = "INV_WAIT";

    private static void translated(Walk w, long pa, VtdDomain by) {
        assertEquals(Translation.Outcome.TRANSLATED, w.outcome(), String.valueOf(w));
        assertEquals(pa, w.physAddr());
        assertSame(by, w.domain());
    }

    private static void faulted(Walk w, String reason, VtdDomain by) {
        assertEquals(Translation.Outcome.FAULT, w.outcome(), String.valueOf(w));
        assertTrue(w.fault().startsWith(reason), w.fault());
        assertSame(by, w.domain());
    }

    @Test
    @DisplayName("D18: the walk goes root, context, PASID directory, PASID entry, second level; "
            + "each missing level faults with its own reason")
    void walkAndFaults() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        faulted(r.backend.translate(GPU, 0, 0, Access.READ), "SCT_ROOT_NOT_PRESENT", null);
        VtdDomain a = r.paging();
        a.mapPages(0x1000, 0xabc000, K4, 1, Prot.READ | Prot.WRITE);
        r.backend.attachDev(GPU, a);
        translated(r.backend.translate(GPU, 0, 0x1234, Access.WRITE), 0xabc234, a);
        VtdDomain b = r.paging();
        b.mapPages(0x1000, 0x555000, K4, 1, Prot.READ);
        r.backend.setDevPasid(GPU, 7, b);
        translated(r.backend.translate(GPU, 7, 0x1010, Access.READ), 0x555010, b);
        faulted(r.backend.translate(GPU, 7, 0x1010, Access.WRITE), "SSL_WRITE_DENIED", b);
        faulted(r.backend.translate(GPU, 7, 0x9000, Access.READ), "SSL_NOT_PRESENT", b);
        faulted(r.backend.translate(GPU, 8, 0x1000, Access.READ), "SCT_PASID_ENTRY_NOT_PRESENT",
                null);
        faulted(r.backend.translate(GPU, 0x1000, 0x1000, Access.READ), "SCT_PASID_DIR_NOT_PRESENT",
                null);
        faulted(r.backend.translate(GPU, 0, 1L << 48, Access.READ), "SSL_ADDRESS_WIDTH", a);
        faulted(r.backend.translate(NIC, 0, 0x1000, Access.READ), "SCT_CONTEXT_NOT_PRESENT", null);
        faulted(r.backend.translate(ACC, 0, 0x1000, Access.READ), "SCT_ROOT_NOT_PRESENT", null);
        r.backend.attachDev(NIC, a);
        translated(r.backend.translate(NIC, 0, 0x1000, Access.READ), 0xabc000, a);
        faulted(r.backend.translate(NIC, 3, 0x1000, Access.READ), "SCT_PASID_DISABLED", null);
        b.mapPages(0x2000, 0x556000, K4, 1, Prot.WRITE);
        faulted(r.backend.translate(GPU, 7, 0x2000, Access.READ), "SSL_READ_DENIED", b);
        Expect.errno(Errno.EINVAL, () -> r.backend.translate(GPU, -1, 0, Access.READ));
    }

    @Test
    @DisplayName("rule 58: after unmapFast without a sync the IOTLB still translates; iotlbSync "
            + "sends a page-selective IOTLB and device-TLB invalidation, then the DMA faults")
    void iotlbStaleUntilSync() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        a.mapPages(0x4000, 0x77000, K4, 2, Prot.READ);
        r.backend.attachDev(GPU, a);
        translated(r.backend.translate(GPU, 0, 0x4008, Access.READ), 0x77008, a);
        assertTrue(r.unit.iotlbHolds(a.did(), 0, 0x4000));
        IotlbGather g = new IotlbGather();
        assertEquals(2 * K4, a.unmapPages(0x4000, K4, 2, g));
        long hits = r.unit.iotlbHits();
        translated(r.backend.translate(GPU, 0, 0x4010, Access.READ), 0x77010, a);
        assertEquals(hits + 1, r.unit.iotlbHits(), "served by the stale IOTLB entry");
        faulted(r.backend.translate(GPU, 0, 0x5000, Access.READ), "SSL_NOT_PRESENT", a);
        assertEquals(0, a.iovaToPhys(0x4000), "the table itself is already empty");
        long m = r.mark();
        a.iotlbSync(g);
        assertEquals(List.of("IOTLB_INV did=2 gran=PAGE addr=0x4000 am=1 ih=0",
                "DEV_TLB_INV sid=0x0010 pfsid=0x0010 qdep=0 addr=0x4000 order=1", W), r.seq(m));
        assertTrue(g.isEmpty(), "the gather is reset");
        assertFalse(r.unit.iotlbHolds(a.did(), 0, 0x4000));
        faulted(r.backend.translate(GPU, 0, 0x4010, Access.READ), "SSL_NOT_PRESENT", a);
    }

    @Test
    @DisplayName("rule 58: a range beyond CAP.MAMV falls back to a domain-selective flush; every "
            + "PASID the domain is installed at gets its device-TLB form; flushIotlbAll flushes "
            + "the DID; an unattached domain sends nothing")
    void flushShapes() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        a.mapPages(0, 0, G1, 1, Prot.READ);
        IotlbGather unattached = new IotlbGather();
        long m = r.mark();
        a.unmapPages(0, G1, 1, unattached);
        a.iotlbSync(unattached);
        a.flushIotlbAll();
        assertEquals(List.of(), r.seq(m));
        a.mapPages(0, 0, G1, 1, Prot.READ);
        r.backend.attachDev(GPU, a);
        r.backend.setDevPasid(GPU, 4, a);
        IotlbGather g = new IotlbGather();
        a.unmapPages(0, G1, 1, g);
        m = r.mark();
        a.iotlbSync(g);
        assertEquals(List.of("IOTLB_INV did=2 gran=DOMAIN",
                "DEV_TLB_INV sid=0x0010 pfsid=0x0010 qdep=0 addr=0x0 order=18",
                "P_DEV_TLB_INV sid=0x0010 pasid=4 pfsid=0x0010 qdep=0 addr=0x0 order=18", W),
                r.seq(m), "mask 18 > MAMV 9");
        m = r.mark();
        a.flushIotlbAll();
        assertEquals(List.of("IOTLB_INV did=2 gran=DOMAIN",
                "DEV_TLB_INV sid=0x0010 pfsid=0x0010 qdep=0 addr=ALL",
                "P_DEV_TLB_INV sid=0x0010 pasid=4 pfsid=0x0010 qdep=0 addr=ALL", W), r.seq(m));
        // an unaligned range widens the mask until one aligned window covers it
        long[] psi = CacheFlush.psi(0x3000, 0x4fff);
        assertEquals(0, psi[0]);
        assertEquals(3, psi[1]);
    }

    @Test
    @DisplayName("rule 57: after a map, caching mode flushes the IOTLB range (it may cache misses); "
            + "bare metal flushes the write buffer")
    void syncMap() {
        VtdFixture cm = new VtdFixture(VtdFixture.guest().build());
        VtdDomain a = cm.paging();
        cm.backend.attachDev(GPU, a);
        a.mapPages(0x10000, 0x200000, K4, 4, Prot.READ);
        long m = cm.mark();
        a.iotlbSyncMap(0x10000, 4 * K4);
        assertEquals(List.of("IOTLB_INV did=2 gran=PAGE addr=0x10000 am=2 ih=0", W), cm.seq(m));
        VtdFixture bare = new VtdFixture(VtdFixture.bare().build());
        VtdDomain b = bare.paging();
        bare.backend.attachDev(GPU, b);
        b.mapPages(0x10000, 0x200000, K4, 4, Prot.READ);
        m = bare.mark();
        b.iotlbSyncMap(0x10000, 4 * K4);
        assertEquals(List.of("WBF"), bare.seq(m));
    }

    @Test
    @DisplayName("section 2 (VT-d): a PASID entry changed without a PASID-cache invalidation is "
            + "still used; an invalidation for another DID leaves it; the right one drops it")
    void stalePasidCache() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        r.backend.attachDev(GPU, r.paging());
        VtdDomain b = r.paging();
        b.mapPages(0x1000, 0x31000, K4, 2, Prot.READ);
        r.backend.setDevPasid(GPU, 7, b);
        translated(r.backend.translate(GPU, 7, 0x1000, Access.READ), 0x31000, b);
        assertTrue(r.unit.pasidCached(GPU_RID, 7));
        assertTrue(r.unit.contextCached(GPU_RID));
        // a driver with a bug clears the entry in memory and invalidates nothing
        r.driver.device(GPU).table.entry(7, false).write(new long[8]);
        translated(r.backend.translate(GPU, 7, 0x2000, Access.READ), 0x32000, b);
        r.driver.submitForTest(Command.pasidCache(Command.PC_PASID, b.did() + 1, 7));
        translated(r.backend.translate(GPU, 7, 0x2000, Access.READ), 0x32000, b);
        r.driver.submitForTest(Command.pasidCache(Command.PC_PASID, b.did(), 7));
        assertFalse(r.unit.pasidCached(GPU_RID, 7));
        faulted(r.backend.translate(GPU, 7, 0x2000, Access.READ), "SCT_PASID_ENTRY_NOT_PRESENT",
                b);
        r.driver.submitForTest(Command.contextCache(Command.CC_DEVICE, 0, GPU_RID));
        assertFalse(r.unit.contextCached(GPU_RID));
    }

    @Test
    @DisplayName("D18: a pass-through entry (identity domain) lets DMA through, naming the domain")
    void passThrough() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain id = r.alloc(DomainType.IDENTITY);
        r.backend.attachDev(NIC, id);
        Walk w = r.backend.translate(NIC, 0, 0xdead000, Access.WRITE);
        assertEquals(Translation.Outcome.BYPASS, w.outcome());
        assertSame(id, w.domain());
        r.backend.attachDev(GPU, r.paging());
        r.backend.setDevPasid(GPU, 2, id);
        assertSame(id, r.backend.translate(GPU, 2, 0x1000, Access.READ).domain());
        assertEquals(0, r.unit.iotlbSize(), "pass-through fills no IOTLB entry");
    }

    @Test
    @DisplayName("rule 36: an SVA domain is walked first-level through the process page table, "
            + "and sees the process's changes at once")
    void sva() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        r.backend.attachDev(GPU, r.paging()); // DID 2
        VtdFixture.Process mm = new VtdFixture.Process(42).map(0x7000, 0x123000, true).map(0x8000, 0x124000, false);
        VtdDomain sva = (VtdDomain) r.backend.svaDomainAlloc(mm); // DID 3
        assertEquals(DomainType.SVA, sva.type());
        assertEquals(0, sva.pgsizeBitmap());
        r.backend.setDevPasid(GPU, 11, sva);
        translated(r.backend.translate(GPU, 11, 0x7010, Access.WRITE), 0x123010, sva);
        translated(r.backend.translate(GPU, 11, 0x8010, Access.READ), 0x124010, sva);
        faulted(r.backend.translate(GPU, 11, 0x8010, Access.WRITE), "SFL_NOT_PRESENT", sva);
        faulted(r.backend.translate(GPU, 11, 0x9000, Access.READ), "SFL_NOT_PRESENT", sva);
        mm.map(0x9000, 0x200000, false);
        translated(r.backend.translate(GPU, 11, 0x9000, Access.READ), 0x200000, sva);
        Expect.errno(Errno.EINVAL, () -> sva.mapPages(0, 0, K4, 1, Prot.READ));
        r.unchanged(Errno.EINVAL, () -> r.backend.attachDev(NIC, sva));
        long m = r.mark();
        sva.flushIotlbAll();
        assertEquals(List.of("P_IOTLB_INV did=3 pasid=11 gran=PASID",
                "P_DEV_TLB_INV sid=0x0010 pasid=11 pfsid=0x0010 qdep=0 addr=ALL", W), r.seq(m));
        r.backend.removeDevPasid(GPU, 11, sva);
        sva.free();
        assertNull(r.driver.domainOf(GPU, 11));
    }

    @Test
    @DisplayName("D18: concurrent map, unmap, sync and translate on separate ranges never see a "
            + "translation after its sync nor a fault while mapped and cached")
    void concurrentProbes() throws Exception {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        r.backend.attachDev(GPU, a);
        ExecutorService pool = Executors.newFixedThreadPool(4);
        List<Future<?>> jobs = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            long base = (t + 1) * 0x1000_0000L;
            jobs.add(pool.submit(() -> {
                for (int i = 0; i < 300; i++) {
                    long iova = base + (i % 64) * K4;
                    long pa = 0x4000_0000L + base / 16 + i * K4;
                    a.mapPages(iova, pa, K4, 1, Prot.READ);
                    a.iotlbSyncMap(iova, K4);
                    Walk w = r.backend.translate(GPU, 0, iova + 8, Access.READ);
                    if (w.outcome() != Translation.Outcome.TRANSLATED || w.physAddr() != pa + 8) {
                        fail("mapped 0x" + Long.toHexString(iova) + " gave " + w);
                    }
                    IotlbGather g = new IotlbGather();
                    if (a.unmapPages(iova, K4, 1, g) != K4) {
                        fail("unmap of 0x" + Long.toHexString(iova));
                    }
                    a.iotlbSync(g);
                    w = r.backend.translate(GPU, 0, iova, Access.READ);
                    if (w.outcome() != Translation.Outcome.FAULT) {
                        fail("unmapped and synced 0x" + Long.toHexString(iova) + " gave " + w);
                    }
                }
                return null;
            }));
        }
        try {
            for (Future<?> f : jobs) {
                f.get(60, TimeUnit.SECONDS);
            }
        } finally {
            pool.shutdownNow();
        }
        assertEquals(0, r.unit.iotlbSize(), "every cached leaf was invalidated");
    }
}

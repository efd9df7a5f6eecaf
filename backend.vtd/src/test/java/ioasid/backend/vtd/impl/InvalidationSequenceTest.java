package ioasid.backend.vtd.impl;

import static ioasid.backend.vtd.impl.VtdFixture.GPU;
import static ioasid.backend.vtd.impl.VtdFixture.GPU_RID;
import static ioasid.backend.vtd.impl.VtdFixture.NIC;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Translation;

/** The exact descriptor sequences of setup, domain change and teardown (rules 95, 96). */
class InvalidationSequenceTest {
    private static final String W = "INV_WAIT";

    @Test
    @DisplayName("rule 95: in caching mode the first attach flushes context-cache and domain 0, "
            + "then each new entry gets a PASID-cache invalidation and a PASID-based IOTLB flush")
    void setupCachingMode() {
        VtdFixture r = new VtdFixture(VtdFixture.guest().build());
        VtdDomain a = r.paging();
        long m = r.mark();
        r.backend.attachDev(GPU, a);
        assertEquals(List.of("CC_INV did=0 sid=0x0010 gran=DEVICE", W,
                "IOTLB_INV did=0 gran=DOMAIN", W,
                "PC_INV did=2 pasid=0 gran=PASID", W,
                "P_IOTLB_INV did=2 pasid=0 gran=PASID", W), r.seq(m));
        VtdDomain b = r.paging();
        m = r.mark();
        r.backend.setDevPasid(GPU, 5, b);
        assertEquals(List.of("PC_INV did=3 pasid=5 gran=PASID", W,
                "P_IOTLB_INV did=3 pasid=5 gran=PASID", W), r.seq(m));
        List<Command> cmds = r.since(m);
        assertEquals(0x7, cmds.get(0).type());
        assertEquals(Command.PC_PASID, cmds.get(0).gran());
        assertEquals(3, cmds.get(0).did());
        assertEquals(5, cmds.get(0).pasid());
        assertEquals(0x5, cmds.get(1).type());
        assertEquals(Command.QI_DONE, cmds.get(1).statusData());
        assertEquals(0x6, cmds.get(2).type());
        assertEquals(Command.PIOTLB_PASID, cmds.get(2).gran());
        assertEquals(3, cmds.get(2).did());
        assertEquals(5, cmds.get(2).pasid());
    }

    @Test
    @DisplayName("rule 95: without caching mode setup only flushes the write buffer (nothing at "
            + "all without CAP.RWBF)")
    void setupBareMetal() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        long m = r.mark();
        r.backend.attachDev(GPU, a);
        assertEquals(List.of("WBF", "WBF"), r.seq(m), "context entry, then PASID entry 0");
        m = r.mark();
        r.backend.setDevPasid(GPU, 5, r.paging());
        assertEquals(List.of("WBF"), r.seq(m));
        assertEquals(0, r.since(m).get(0).op().type, "not a queued descriptor");
        VtdFixture quiet = new VtdFixture(VtdFixture.bare().rwbf(false).build());
        long qm = quiet.mark();
        quiet.backend.attachDev(GPU, quiet.paging());
        assertEquals(List.of(), quiet.seq(qm));
    }

    @Test
    @DisplayName("rule 96: bare-metal teardown of a second-level entry: clear, PASID-cache "
            + "(PASID), domain-selective IOTLB, PASID-tagged device-TLB")
    void teardownSecondLevelBareMetal() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        r.backend.attachDev(GPU, r.paging());
        VtdDomain b = r.paging();
        r.backend.setDevPasid(GPU, 5, b);
        long m = r.mark();
        r.backend.removeDevPasid(GPU, 5, b);
        assertEquals(List.of("PC_INV did=3 pasid=5 gran=PASID", W,
                "IOTLB_INV did=3 gran=DOMAIN", W,
                "P_DEV_TLB_INV sid=0x0010 pasid=5 pfsid=0x0010 qdep=0 addr=ALL", W), r.seq(m));
        Command dev = r.since(m).get(4);
        assertEquals(0x8, dev.type());
        assertEquals(GPU_RID, dev.sid());
        assertEquals(5, dev.pasid());
        assertEquals(Command.DEVTLB_ALL, dev.sizeOrder());
        assertArrayEquals(new long[8], r.driver.pasidEntry(GPU, 5), "cleared, FPD clear");
        assertTrue(b.attachments.isEmpty());
        assertNull(r.driver.domainOf(GPU, 5));
    }

    @Test
    @DisplayName("rule 96: in caching mode the teardown skips the device-TLB flush")
    void teardownCachingMode() {
        VtdFixture r = new VtdFixture(VtdFixture.guest().build());
        r.backend.attachDev(GPU, r.paging());
        VtdDomain b = r.paging();
        r.backend.setDevPasid(GPU, 5, b);
        long m = r.mark();
        r.backend.removeDevPasid(GPU, 5, b);
        assertEquals(List.of("PC_INV did=3 pasid=5 gran=PASID", W,
                "IOTLB_INV did=3 gran=DOMAIN", W), r.seq(m));
    }

    @Test
    @DisplayName("rule 96: first-level-only and pass-through entries are flushed PASID-based, not "
            + "domain-selective")
    void teardownFirstLevelAndPassThrough() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        r.backend.attachDev(GPU, r.paging());
        VtdDomain id = r.alloc(DomainType.IDENTITY); // did 3
        VtdDomain sva = (VtdDomain) r.backend.svaDomainAlloc(new VtdFixture.Process(9)); // did 4
        r.backend.setDevPasid(GPU, 4, id);
        r.backend.setDevPasid(GPU, 6, sva);
        long m = r.mark();
        r.backend.removeDevPasid(GPU, 4, id);
        r.backend.removeDevPasid(GPU, 6, sva);
        assertEquals(List.of("PC_INV did=3 pasid=4 gran=PASID", W,
                "P_IOTLB_INV did=3 pasid=4 gran=PASID", W,
                "P_DEV_TLB_INV sid=0x0010 pasid=4 pfsid=0x0010 qdep=0 addr=ALL", W,
                "PC_INV did=4 pasid=6 gran=PASID", W,
                "P_IOTLB_INV did=4 pasid=6 gran=PASID", W,
                "P_DEV_TLB_INV sid=0x0010 pasid=6 pfsid=0x0010 qdep=0 addr=ALL", W), r.seq(m));
    }

    @Test
    @DisplayName("rule 96, rule 44: switching PASID 0 tears down (non-PASID device-TLB form for "
            + "RID2PASID) then sets up; attaching the current domain again sends nothing")
    void domainSwitchOfRidPasid() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        VtdDomain b = r.paging();
        r.backend.attachDev(GPU, a);
        long m = r.mark();
        r.backend.attachDev(GPU, b);
        assertEquals(List.of("PC_INV did=2 pasid=0 gran=PASID", W,
                "IOTLB_INV did=2 gran=DOMAIN", W,
                "DEV_TLB_INV sid=0x0010 pfsid=0x0010 qdep=0 addr=ALL", W,
                "WBF"), r.seq(m));
        assertEquals(0x3, r.since(m).get(4).type());
        assertEquals(b.did(), PasidEntry.did(r.driver.pasidEntry(GPU, 0)));
        assertTrue(a.attachments.isEmpty());
        assertEquals(1, b.attachments.size());
        m = r.mark();
        r.backend.attachDev(GPU, b);
        assertEquals(List.of(), r.seq(m), "rule 44: no-op");
        VtdFixture cm = new VtdFixture(VtdFixture.guest().build());
        VtdDomain ca = cm.paging();
        VtdDomain cb = cm.paging();
        cm.backend.attachDev(GPU, ca);
        m = cm.mark();
        cm.backend.attachDev(GPU, cb);
        assertEquals(List.of("PC_INV did=2 pasid=0 gran=PASID", W,
                "IOTLB_INV did=2 gran=DOMAIN", W,
                "PC_INV did=3 pasid=0 gran=PASID", W,
                "P_IOTLB_INV did=3 pasid=0 gran=PASID", W), cm.seq(m));
    }

    @Test
    @DisplayName("rule 96: with fault_ignore the cleared entry keeps FPD=1 (faults not reported); "
            + "the probe still faults")
    void faultIgnoreKeepsFpd() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().faultIgnore(true).build());
        r.backend.attachDev(GPU, r.paging());
        VtdDomain b = r.paging();
        r.backend.setDevPasid(GPU, 5, b);
        r.backend.removeDevPasid(GPU, 5, b);
        long[] e = r.driver.pasidEntry(GPU, 5);
        assertEquals(PasidEntry.FPD, e[0], "only FPD");
        for (int i = 1; i < 8; i++) {
            assertEquals(0, e[i]);
        }
        assertTrue(r.backend.translate(GPU, 5, 0, Access.READ).fault()
                .contains("fault reporting disabled by FPD"));
    }

    @Test
    @DisplayName("rule 96, rule 95: a unit that does not snoop table walks gets a clflush of the "
            + "entry before the invalidations (and of new PASID tables and context entries)")
    void clflushWhenNotCoherent() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().coherent(false).build());
        long m = r.mark();
        r.backend.attachDev(GPU, r.paging());
        List<Command> attach = r.since(m);
        assertEquals(List.of(Command.Op.CLFLUSH, Command.Op.WBF, Command.Op.CLFLUSH,
                Command.Op.CLFLUSH, Command.Op.CLFLUSH, Command.Op.WBF),
                attach.stream().map(Command::op).toList(),
                "context entry, WBF, PASID table page, directory entry, PASID entry, WBF");
        assertEquals(Command.FLUSH_CONTEXT, attach.get(0).qw2());
        assertEquals(Command.FLUSH_PASID_TABLE, attach.get(2).qw2());
        VtdDomain b = r.paging();
        r.backend.setDevPasid(GPU, 5, b);
        m = r.mark();
        r.backend.removeDevPasid(GPU, 5, b);
        List<Command> td = r.since(m);
        assertEquals(List.of(Command.Op.CLFLUSH, Command.Op.PC_INV, Command.Op.INV_WAIT,
                Command.Op.IOTLB_INV, Command.Op.INV_WAIT, Command.Op.P_DEV_TLB_INV,
                Command.Op.INV_WAIT), td.stream().map(Command::op).toList());
        long tablePa = PasidEntry.dirTable(r.driver.device(GPU).table.rawDirEntry(0));
        assertEquals(tablePa + 5 * 64, td.get(0).addr(), "the 64-byte entry of PASID 5");
        assertEquals(64, td.get(0).qw1());
    }

    @Test
    @DisplayName("rule 96: tearing down an entry that is not present returns without a command")
    void teardownNotPresent() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        r.backend.attachDev(GPU, a);
        long m = r.mark();
        r.backend.removeDevPasid(GPU, 77, a);
        VtdDomain blocked = r.alloc(DomainType.BLOCKED);
        r.backend.setDevPasid(GPU, 78, blocked);
        r.backend.removeDevPasid(GPU, 78, blocked);
        assertEquals(List.of(), r.seq(m));
    }

    @Test
    @DisplayName("rule 96, D17: attaching the blocking domain tears RID_PASID down; DMA then faults "
            + "in the blocking domain")
    void blockedAttach() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        a.mapPages(0x1000, 0x9000, VtdFixture.K4, 1, 3);
        r.backend.attachDev(NIC, a);
        assertEquals(Translation.Outcome.TRANSLATED,
                r.backend.translate(NIC, 0, 0x1000, Access.READ).outcome());
        VtdDomain blocked = r.alloc(DomainType.BLOCKED);
        long m = r.mark();
        r.backend.attachDev(NIC, blocked);
        assertEquals(List.of("PC_INV did=2 pasid=0 gran=PASID", W,
                "IOTLB_INV did=2 gran=DOMAIN", W,
                "DEV_TLB_INV sid=0x0018 pfsid=0x0018 qdep=0 addr=ALL", W), r.seq(m));
        var walk = r.backend.translate(NIC, 0, 0x1000, Access.READ);
        assertEquals(Translation.Outcome.FAULT, walk.outcome());
        assertTrue(walk.fault().startsWith("SCT_PASID_ENTRY_NOT_PRESENT"), walk.fault());
        assertSame(blocked, walk.domain());
    }

    @Test
    @DisplayName("section 2 (VT-d): legacy mode clears and reprograms the context entry: "
            + "context-cache (device, old DID), domain-selective IOTLB, device-TLB")
    void legacyModeSequences() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().scalableMode(false).build());
        VtdDomain a = r.paging();
        VtdDomain b = r.paging();
        r.backend.attachDev(GPU, a);
        long[] ctx = r.driver.contextEntry(GPU);
        assertEquals(2, ctx.length, "128-bit legacy entry");
        assertEquals(a.table().root(), ctx[0] & ~0xfffL);
        assertEquals(DmarUnit.CTX_TT_DEV_IOTLB, (ctx[0] >>> 2) & 3);
        assertEquals(a.did(), DmarUnit.legacyDid(ctx));
        long m = r.mark();
        r.backend.attachDev(GPU, b);
        assertEquals(List.of("CC_INV did=2 sid=0x0010 gran=DEVICE", W,
                "IOTLB_INV did=2 gran=DOMAIN", W,
                "DEV_TLB_INV sid=0x0010 pfsid=0x0010 qdep=0 addr=ALL", W, "WBF"), r.seq(m));
        assertEquals(128, r.unit.queue.descriptorBits());
        assertEquals(256, new VtdFixture(VtdFixture.bare().build()).unit.queue.descriptorBits());
        VtdDomain id = r.alloc(DomainType.IDENTITY);
        r.backend.attachDev(NIC, id);
        assertEquals(Translation.Outcome.BYPASS,
                r.backend.translate(NIC, 0, 0x1234, Access.WRITE).outcome());
        assertTrue(r.backend.translate(GPU, 3, 0, Access.READ).fault()
                .startsWith("LCT_PASID_UNSUPPORTED"));
    }

    @Test
    @DisplayName("section 2 (VT-d): the queue is a 256-slot ring in unit memory; the unit decodes "
            + "the raw ring words, each wait writes QI_DONE to its status address, the tail wraps")
    void queueRing() {
        VtdFixture r = new VtdFixture(VtdFixture.guest().build());
        InvalidationQueue q = r.unit.queue;
        VtdDomain a = r.paging();
        r.backend.attachDev(GPU, a);
        int tail = q.tail();
        assertEquals(8, tail, "4 batches of descriptor + wait");
        assertEquals(tail, q.head(), "the unit consumed everything");
        List<Command> all = q.since(0);
        for (int i = 0; i < tail; i++) {
            long[] raw = q.slot(i);
            assertEquals(4, raw.length, "256-bit descriptors in scalable mode");
            Command c = all.get(i);
            assertArrayEquals(new long[] {c.qw0(), c.qw1(), c.qw2(), c.qw3()}, raw);
        }
        Command wait = all.get(1);
        long[] status = r.unit.mem.table(wait.qw1() & ~0xfffL);
        assertEquals(Command.QI_DONE, status[(int) ((wait.qw1() & 0xfff) / 8)]);
        VtdDomain b = r.paging();
        for (int i = 0; i < 70; i++) { // 70 * 4 slots: wraps past 256
            r.backend.setDevPasid(GPU, 10, b);
            r.backend.removeDevPasid(GPU, 10, b);
        }
        assertEquals((tail + 70 * 8) % 256, q.tail());
        assertEquals(q.tail(), q.head());
    }

    @Test
    @DisplayName("section 2 (VT-d): commandLog gives the operator's strings, oldest first, the "
            + "last 4096")
    void commandLogStrings() {
        VtdFixture r = new VtdFixture(VtdFixture.guest().build());
        r.backend.attachDev(GPU, r.paging());
        VtdDomain b = r.paging();
        r.backend.setDevPasid(GPU, 5, b);
        List<String> log = r.backend.commandLog();
        assertEquals("CC_INV did=0 sid=0x0010 gran=DEVICE", log.get(0));
        assertTrue(log.contains("PC_INV did=3 pasid=5 gran=PASID"), log.toString());
        assertTrue(log.get(log.size() - 1).startsWith("INV_WAIT status=2 addr=0x"));
        for (int i = 0; i < 600; i++) {
            r.backend.removeDevPasid(GPU, 5, b);
            r.backend.setDevPasid(GPU, 5, b);
        }
        log = r.backend.commandLog();
        assertEquals(InvalidationQueue.LOG_LIMIT, log.size());
        assertEquals("P_IOTLB_INV did=3 pasid=5 gran=PASID", log.get(log.size() - 2));
    }
}

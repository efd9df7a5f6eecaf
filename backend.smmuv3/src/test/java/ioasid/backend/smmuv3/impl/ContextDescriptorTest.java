package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.DISK;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.NIC;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.RW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.Walk;
import ioasid.testkit.Expect;

/** Context descriptors, CD tables and per-PASID attach (rules 98, 99). */
class ContextDescriptorTest {
    private final Smmuv3Fixture fx = new Smmuv3Fixture();

    @Test
    @DisplayName("rule 98: install writes dwords 1-3, CFGI_CD, then dword 0 with V=1, CFGI_CD; "
            + "the SMMU never sees V=1 before the other dwords")
    void installOrder() {
        fx.attachedPaging(GPU);
        Smmuv3Domain p = fx.paging();
        long addr = fx.cdAddr(GPU, 3);
        PhysMem mem = fx.smmu.mem;
        List<long[]> seen = new ArrayList<>();
        fx.smmu.cmdq.observer(c -> seen.add(new long[] {c.op().code, mem.read(addr),
            mem.read(addr + 8), mem.read(addr + 24)}));
        long m = fx.mark();
        fx.b.setDevPasid(GPU, 3, p);
        assertEquals(List.of("CFGI_CD sid=0x10 ssid=3 leaf=1", "CMD_SYNC",
                "CFGI_CD sid=0x10 ssid=3 leaf=1", "CMD_SYNC"), fx.cmds(m));
        long ttb = p.pgtable.ttb();
        // First CFGI_CD: TTB0 and MAIR in place, dword 0 still invalid.
        assertEquals(Command.Op.CFGI_CD.code, seen.get(0)[0]);
        assertEquals(0, seen.get(0)[1]);
        assertEquals(ttb, seen.get(0)[2]);
        assertEquals(Cd.IO_PGTABLE_MAIR, seen.get(0)[3]);
        // Second CFGI_CD: V=1 with the domain's ASID.
        assertTrue(Cd.valid(seen.get(2)[1]));
        assertEquals(p.asid, Cd.asid(seen.get(2)[1]));
    }

    @Test
    @DisplayName("section 2 SMMUv3: CD dword 0 fields (T0SZ, TG0, IRGN0/ORGN0/SH0, EPD1, V, IPS, "
            + "AA64, R, A, ASET, ASID), TTB0 in dword 1, MAIR in dword 3")
    void cdFields() {
        Smmuv3Fixture f = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withAddressBits(39, 40));
        Smmuv3Domain d = f.attachedPaging(GPU);
        long[] cd = f.cd(GPU, 0);
        long d0 = cd[0];
        assertEquals(64 - 39, Bits.get(d0, 5, 0)); // T0SZ
        assertEquals(0, Bits.get(d0, 7, 6)); // TG0 4K
        assertEquals(1, Bits.get(d0, 9, 8)); // IRGN0 WBWA
        assertEquals(1, Bits.get(d0, 11, 10)); // ORGN0 WBWA
        assertEquals(3, Bits.get(d0, 13, 12)); // SH0 inner shareable
        assertFalse(Bits.bit(d0, 14)); // EPD0: TTB0 walks enabled
        assertFalse(Bits.bit(d0, 15)); // ENDI little endian
        assertTrue(Bits.bit(d0, 30)); // EPD1
        assertTrue(Bits.bit(d0, 31)); // V
        assertEquals(2, Bits.get(d0, 34, 32)); // IPS 40 bits
        assertFalse(Bits.bit(d0, 38)); // TBI0
        assertTrue(Bits.bit(d0, 41)); // AA64
        assertFalse(Bits.bit(d0, 42) || Bits.bit(d0, 43) || Bits.bit(d0, 44)); // HD, HA, S
        assertTrue(Bits.bit(d0, 45) && Bits.bit(d0, 46) && Bits.bit(d0, 47)); // R, A, ASET
        assertEquals(d.asid, Bits.get(d0, 63, 48));
        assertEquals(d.pgtable.ttb(), cd[1] & Bits.mask(51, 4));
        assertEquals(0, cd[2]);
        assertEquals(Cd.IO_PGTABLE_MAIR, cd[3]);
        assertEquals(1, d.pgtable.startLevel); // 39 bits: three levels
    }

    @Test
    @DisplayName("section 2 SMMUv3: up to 1024 contexts the CD table is linear, beyond it two "
            + "levels of 8-byte L1CDs and 1024-CD leaves")
    void tableShapes() {
        Smmuv3Fixture f10 = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withSsidBits(10));
        f10.attachedPaging(GPU);
        CdTable linear = f10.master(GPU).cdTable;
        assertTrue(linear.linear);
        assertEquals(1024 * 64, linear.root.bytes());
        assertEquals(Ste.S1FMT_LINEAR, Ste.s1fmt(f10.ste(GPU)));
        assertEquals(10, Ste.s1cdmax(f10.ste(GPU)));

        Smmuv3Fixture f11 = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withSsidBits(11));
        f11.attachedPaging(GPU);
        CdTable twoLevel = f11.master(GPU).cdTable;
        assertFalse(twoLevel.linear);
        assertEquals(2, twoLevel.l2.length);
        assertNotNull(twoLevel.l2[0]);
        assertNull(twoLevel.l2[1], "leaf tables come lazily");
        assertEquals(64 * 1024, twoLevel.l2[0].bytes());
        long l1 = f11.smmu.mem.read(twoLevel.root.pa);
        assertEquals(twoLevel.l2[0].pa | 1, l1); // L2Ptr | V
        assertEquals(Ste.S1FMT_64K_L2, Ste.s1fmt(f11.ste(GPU)));
    }

    @Test
    @DisplayName("rule 99: a new L1CD is followed by CFGI_CD with leaf=0 before the CD install")
    void newL1Descriptor() {
        fx.attachedPaging(GPU);
        Smmuv3Domain p = fx.paging();
        CdTable t = fx.master(GPU).cdTable;
        assertNull(t.l2[4]);
        long m = fx.mark();
        fx.b.setDevPasid(GPU, 5000, p); // 5000 >> 10 = L1 index 4
        assertEquals(List.of("CFGI_CD sid=0x10 ssid=5000 leaf=0", "CMD_SYNC",
                "CFGI_CD sid=0x10 ssid=5000 leaf=1", "CMD_SYNC",
                "CFGI_CD sid=0x10 ssid=5000 leaf=1", "CMD_SYNC"), fx.cmds(m));
        assertEquals(t.l2[4].pa | 1, fx.smmu.mem.read(t.root.pa + 4 * 8));
        assertEquals(t.l2[4].pa + (5000 - 4096) * 64, fx.cdAddr(GPU, 5000));
        assertTrue(fx.records(m).get(0).encode()[1] == 0); // Leaf bit 0 clear in dword 1
    }

    @Test
    @DisplayName("rule 99: an invalid L1CD can be cached; without the leaf=0 CFGI_CD the new "
            + "leaf table stays invisible")
    void staleInvalidL1Cd() {
        fx.attachedPaging(GPU);
        Smmuv3Domain p = fx.paging();
        p.mapPages(0, 0x4000_0000L, K4, 1, RW);
        assertEquals(Smmu.C_BAD_SUBSTREAMID, fx.tr(GPU, 5000, 0, Access.READ).fault());
        assertTrue(fx.smmu.l1cdCached(0x10, 5000));
        fx.smmu.cmdq.drop(c -> c.op() == Command.Op.CFGI_CD && !c.leaf());
        fx.b.setDevPasid(GPU, 5000, p);
        assertEquals(Smmu.C_BAD_SUBSTREAMID, fx.tr(GPU, 5000, 0, Access.READ).fault());
        fx.smmu.cmdq.drop(null);
        fx.smmu.cmdq.submit(List.of(Command.cfgiCd(0x10, 5000, false)));
        assertEquals(0x4000_0000L, fx.tr(GPU, 5000, 0, Access.READ).physAddr());
    }

    @Test
    @DisplayName("rule 98: SSID >= 1 << S1CDMax is E2BIG and changes nothing")
    void e2big() {
        Smmuv3Domain p = fx.paging();
        fx.b.attachDev(NIC, fx.paging()); // NIC: 5 SSID bits
        fx.b.setDevPasid(NIC, 31, p);
        fx.unchanged(Errno.E2BIG, () -> fx.b.setDevPasid(NIC, 32, p));
        fx.b.attachDev(DISK, fx.paging()); // no PASID support: S1CDMax 0
        fx.unchanged(Errno.E2BIG, () -> fx.b.setDevPasid(DISK, 1, p));
    }

    @Test
    @DisplayName("rule 98: without CD2L a master is capped at a 1024-CD linear table; SSID 1024 "
            + "is E2BIG although caps() allows 2^16")
    void noCd2lCap() {
        Smmuv3Fixture f = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withCd2l(false));
        assertEquals(1 << 16, f.b.caps().maxPasids());
        f.attachedPaging(GPU);
        Smmuv3Domain p = f.paging();
        assertTrue(f.master(GPU).cdTable.linear);
        assertEquals(10, Ste.s1cdmax(f.ste(GPU)));
        f.b.setDevPasid(GPU, 1023, p);
        f.unchanged(Errno.E2BIG, () -> f.b.setDevPasid(GPU, 1024, p));
    }

    @Test
    @DisplayName("rule 98: a leaf CD table that cannot be allocated is ENOMEM, nothing changes")
    void leafEnomem() {
        fx.attachedPaging(GPU);
        Smmuv3Domain p = fx.paging();
        PhysMem mem = fx.smmu.mem;
        mem.limit(mem.used() + 1024);
        fx.unchanged(Errno.ENOMEM, () -> fx.b.setDevPasid(GPU, 5000, p));
        fx.b.setDevPasid(GPU, 7, p); // L2[0] exists: no allocation needed
        assertSame(p, fx.tr(GPU, 7, 0, Access.READ).domain());
    }

    @Test
    @DisplayName("section 2 SMMUv3/rule 38: SSID 0 is never a PASID; bad PASIDs and domains are "
            + "EINVAL, an occupied PASID EBUSY, all without changes")
    void pasidErrors() {
        Smmuv3Domain p = fx.paging();
        Smmuv3Domain q = fx.paging();
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        Smmuv3Domain s2 = fx.nestParent();
        fx.attachedPaging(GPU);
        fx.unchanged(Errno.EINVAL, () -> fx.b.setDevPasid(GPU, 0, p));
        fx.unchanged(Errno.EINVAL, () -> fx.b.setDevPasid(GPU, -1, p));
        fx.unchanged(Errno.EINVAL, () -> fx.b.setDevPasid(GPU, 1 << 20, p));
        fx.unchanged(Errno.ENODEV, () -> fx.b.setDevPasid("nope", 1, p));
        fx.unchanged(Errno.EINVAL, () -> fx.b.setDevPasid(GPU, 1, id));
        fx.unchanged(Errno.EINVAL, () -> fx.b.setDevPasid(GPU, 1, s2));
        fx.b.setDevPasid(GPU, 1, p);
        long m = fx.mark();
        fx.b.setDevPasid(GPU, 1, p); // the same domain again: nothing to do
        assertEquals(List.of(), fx.cmds(m));
        fx.unchanged(Errno.EBUSY, () -> fx.b.setDevPasid(GPU, 1, q));
        fx.unchanged(Errno.EINVAL, () -> fx.b.removeDevPasid(GPU, 1, q));
        fx.unchanged(Errno.EINVAL, () -> fx.b.removeDevPasid(GPU, 2, p));
        fx.unchanged(Errno.EINVAL, () -> fx.b.removeDevPasid(GPU, 0, p));
    }

    @Test
    @DisplayName("rule 98: removal clears dword 0 then CFGI_CD and CMD_SYNC; the PASID then faults "
            + "C_BAD_CD")
    void removal() {
        fx.attachedPaging(GPU);
        Smmuv3Domain p = fx.paging();
        p.mapPages(0x1000, 0x9000, K4, 1, RW);
        fx.b.setDevPasid(GPU, 3, p);
        assertEquals(0x9000, fx.tr(GPU, 3, 0x1000, Access.READ).physAddr());
        long m = fx.mark();
        fx.b.removeDevPasid(GPU, 3, p);
        assertEquals(List.of("CFGI_CD sid=0x10 ssid=3 leaf=1", "CMD_SYNC"), fx.cmds(m));
        assertEquals(0, fx.cd(GPU, 3)[0]);
        Walk w = fx.tr(GPU, 3, 0x1000, Access.READ);
        assertEquals(Smmu.C_BAD_CD, w.fault());
        assertTrue(p.attachments.isEmpty());
        p.free();
    }

    @Test
    @DisplayName("rule 98 (IHI0070 4.3.3): a missing CFGI_CD leaves a stale CD translating for "
            + "the old domain")
    void staleCdWithoutCfgi() {
        fx.attachedPaging(GPU);
        Smmuv3Domain p = fx.paging();
        p.mapPages(0x1000, 0x9000, K4, 1, RW);
        fx.b.setDevPasid(GPU, 3, p);
        fx.tr(GPU, 3, 0x1000, Access.READ); // caches CD 3 and the TLB entry
        assertTrue(fx.smmu.cdCached(0x10, 3));
        fx.smmu.cmdq.drop(c -> c.op() == Command.Op.CFGI_CD);
        fx.b.removeDevPasid(GPU, 3, p);
        Walk stale = fx.tr(GPU, 3, 0x1000, Access.READ);
        assertEquals(Translation.Outcome.TRANSLATED, stale.outcome());
        assertSame(p, stale.domain());
        fx.smmu.cmdq.drop(null);
        fx.smmu.cmdq.submit(List.of(Command.cfgiCd(0x10, 3, true)));
        assertEquals(Smmu.C_BAD_CD, fx.tr(GPU, 3, 0x1000, Access.READ).fault());
    }

    @Test
    @DisplayName("section 2 SMMUv3: a PASID under IDENTITY keeps the CD table with S1DSS=BYPASS; "
            + "the last PASID gone, the bypass STE returns")
    void pasidUnderIdentity() {
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        fx.b.attachDev(GPU, id);
        Smmuv3Domain p = fx.paging();
        p.mapPages(0, 0x7000, K4, 1, RW);
        long m = fx.mark();
        fx.b.setDevPasid(GPU, 4, p);
        assertEquals(List.of("CFGI_CD sid=0x10 ssid=4 leaf=0", "CMD_SYNC",
                "CFGI_CD sid=0x10 ssid=4 leaf=1", "CMD_SYNC",
                "CFGI_CD sid=0x10 ssid=4 leaf=1", "CMD_SYNC",
                "CFGI_STE sid=0x10 leaf=1", "CMD_SYNC"), fx.cmds(m));
        long[] ste = fx.ste(GPU);
        assertEquals(Ste.CFG_S1_TRANS, Ste.config(ste));
        assertEquals(Ste.S1DSS_BYPASS, Ste.s1dss(ste));
        Walk noPasid = fx.read(GPU, 0x5000);
        assertEquals(Translation.Outcome.BYPASS, noPasid.outcome());
        assertSame(id, noPasid.domain());
        assertEquals(0x7000, fx.tr(GPU, 4, 0, Access.READ).physAddr());
        m = fx.mark();
        fx.b.removeDevPasid(GPU, 4, p);
        assertEquals(List.of("CFGI_CD sid=0x10 ssid=4 leaf=1", "CMD_SYNC",
                "CFGI_STE sid=0x10 leaf=1", "CMD_SYNC"), fx.cmds(m));
        assertEquals(Ste.CFG_BYPASS, Ste.config(fx.ste(GPU)));
    }

    @Test
    @DisplayName("section 2 SMMUv3: a PASID under BLOCKED uses S1DSS=TERMINATE: DMA without PASID "
            + "faults F_STREAM_DISABLED")
    void pasidUnderBlocked() {
        Smmuv3Domain blocked = fx.alloc(DomainType.BLOCKED);
        fx.b.attachDev(GPU, blocked);
        Smmuv3Domain p = fx.paging();
        p.mapPages(0, 0x7000, K4, 1, RW);
        fx.b.setDevPasid(GPU, 9, p);
        assertEquals(Ste.S1DSS_TERMINATE, Ste.s1dss(fx.ste(GPU)));
        Walk w = fx.read(GPU, 0);
        assertEquals(Smmu.F_STREAM_DISABLED, w.fault());
        assertSame(blocked, w.domain());
        assertEquals(0x7000, fx.tr(GPU, 9, 0, Access.READ).physAddr());
    }

    @Test
    @DisplayName("section 2 SMMUv3: a SubstreamID on a bypass STE, past S1CDMax, or with "
            + "substreams off faults C_BAD_SUBSTREAMID; no PASID then uses CD 0")
    void badSubstream() {
        fx.b.attachDev(GPU, fx.alloc(DomainType.IDENTITY));
        assertEquals(Smmu.C_BAD_SUBSTREAMID, fx.tr(GPU, 1, 0, Access.READ).fault());
        Smmuv3Domain d = fx.attachedPaging(NIC);
        assertEquals(Smmu.C_BAD_SUBSTREAMID, fx.tr(NIC, 32, 0, Access.READ).fault());
        assertEquals(Smmu.C_BAD_CD, fx.tr(NIC, 31, 0, Access.READ).fault());
        Smmuv3Domain dd = fx.attachedPaging(DISK);
        assertEquals(0, Ste.s1cdmax(fx.ste(DISK)));
        assertEquals(Smmu.C_BAD_SUBSTREAMID, fx.tr(DISK, 1, 0, Access.READ).fault());
        dd.mapPages(0, 0x3000, K4, 1, RW);
        assertEquals(0x3000, fx.read(DISK, 0).physAddr());
        assertSame(dd, fx.read(DISK, 0).domain());
        assertSame(d, fx.read(NIC, 0).domain()); // an unmapped address names the domain
        Expect.errno(Errno.EINVAL, () -> fx.tr(GPU, -1, 0, Access.READ));
    }

    @Test
    @DisplayName("rule 98: the CFGI_CD of a PASID install covers only the StreamIDs the CD was "
            + "written for")
    void batchPerMaster() {
        Smmuv3Domain p = fx.paging();
        fx.attachedPaging(GPU);
        fx.attachedPaging(NIC);
        long m = fx.mark();
        fx.b.setDevPasid(NIC, 2, p);
        for (Command c : fx.records(m)) {
            assertTrue(c.op() == Command.Op.CMD_SYNC || c.sid() == 0x11, c.toString());
        }
    }
}

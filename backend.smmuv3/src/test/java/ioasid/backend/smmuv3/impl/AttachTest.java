package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.DISK;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.NIC;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.RW;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.Walk;

/** Stream table entries per domain type and the attach rules. */
class AttachTest {
    private final Smmuv3Fixture fx = new Smmuv3Fixture();

    @Test
    @DisplayName("section 2 SMMUv3: IDENTITY is a bypass STE, then CFGI_STE and CMD_SYNC; DMA "
            + "bypasses, named after the identity domain")
    void identityBypass() {
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        long m = fx.mark();
        fx.b.attachDev(GPU, id);
        assertEquals(List.of("CFGI_STE sid=0x10 leaf=1", "CMD_SYNC"), fx.cmds(m));
        long[] ste = fx.ste(GPU);
        assertEquals(1, ste[0] & 1); // V
        assertEquals(Ste.CFG_BYPASS, Bits.get(ste[0], 3, 1));
        Walk w = fx.read(GPU, 0x1234_5000L);
        assertEquals(Translation.Outcome.BYPASS, w.outcome());
        assertSame(id, w.domain());
        assertEquals(0x1234_5000L, id.iovaToPhys(0x1234_5000L)); // rule 56
    }

    @Test
    @DisplayName("section 2 SMMUv3: BLOCKED is an abort STE; DMA terminates; iova_to_phys is 0")
    void blockedAborts() {
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        Smmuv3Domain blocked = fx.alloc(DomainType.BLOCKED);
        fx.b.attachDev(GPU, id);
        long m = fx.mark();
        fx.b.attachDev(GPU, blocked);
        assertEquals(List.of("CFGI_STE sid=0x10 leaf=1", "CMD_SYNC"), fx.cmds(m));
        assertEquals(Ste.V, fx.ste(GPU)[0]); // V=1, Config=0b000
        Walk w = fx.read(GPU, 0);
        assertEquals(Smmu.STE_ABORT, w.fault());
        assertSame(blocked, w.domain());
        assertEquals(0, blocked.iovaToPhys(0x1000)); // rule 56
    }

    @Test
    @DisplayName("rule 98: attaching a paging domain allocates the CD table, installs CD 0 "
            + "(CFGI_CD, V=1, CFGI_CD) and only then points the STE at it")
    void pagingAttachSequence() {
        Smmuv3Domain d = fx.paging();
        long m = fx.mark();
        fx.b.attachDev(GPU, d);
        assertEquals(List.of(
                "CFGI_CD sid=0x10 ssid=0 leaf=0", "CMD_SYNC", // new L1CD (rule 99)
                "CFGI_CD sid=0x10 ssid=0 leaf=1", "CMD_SYNC", // dwords 1-3 written
                "CFGI_CD sid=0x10 ssid=0 leaf=1", "CMD_SYNC", // dword 0 with V=1
                "CFGI_STE sid=0x10 leaf=1", "CMD_SYNC"), fx.cmds(m));
        long[] ste = fx.ste(GPU);
        CdTable t = fx.master(GPU).cdTable;
        assertEquals(Ste.CFG_S1_TRANS, Bits.get(ste[0], 3, 1));
        assertEquals(Ste.S1FMT_64K_L2, Bits.get(ste[0], 5, 4)); // 2^16 contexts: two levels
        assertEquals(t.root.pa, ste[0] & Bits.mask(51, 6)); // S1ContextPtr
        assertEquals(16, Bits.get(ste[0], 63, 59)); // S1CDMax
        assertEquals(Ste.S1DSS_SSID0, Bits.get(ste[1], 1, 0)); // S1DSS
        d.mapPages(0x4000, 0x8_0000_0000L, K4, 1, RW);
        Walk w = fx.read(GPU, 0x4123);
        assertEquals(0x8_0000_0123L, w.physAddr());
        assertSame(d, w.domain());
    }

    @Test
    @DisplayName("rule 44: attaching the domain a device is on again does nothing and cannot fail")
    void reattachSameDomain() {
        Smmuv3Domain d = fx.attachedPaging(GPU);
        String before = fx.drv.state();
        fx.b.attachDev(GPU, d);
        assertEquals(before, fx.drv.state());
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        fx.b.attachDev(NIC, id);
        before = fx.drv.state();
        fx.b.attachDev(NIC, id);
        assertEquals(before, fx.drv.state());
    }

    @Test
    @DisplayName("D18/rule 44: switching paging domains removes the live CD 0 and installs the "
            + "new one; the STE keeps its CD table")
    void switchPagingDomains() {
        Smmuv3Domain a = fx.attachedPaging(GPU);
        Smmuv3Domain b = fx.paging();
        a.mapPages(0, 0x1000_0000L, K4, 1, RW);
        b.mapPages(0, 0x2000_0000L, K4, 1, RW);
        long[] steBefore = fx.ste(GPU);
        long m = fx.mark();
        fx.b.attachDev(GPU, b);
        assertEquals(List.of(
                "CFGI_CD sid=0x10 ssid=0 leaf=1", "CMD_SYNC", // removal of a's CD
                "CFGI_CD sid=0x10 ssid=0 leaf=1", "CMD_SYNC",
                "CFGI_CD sid=0x10 ssid=0 leaf=1", "CMD_SYNC"), fx.cmds(m));
        assertArrayEquals(steBefore, fx.ste(GPU));
        assertEquals(b.asid, Cd.asid(fx.cd(GPU, 0)[0]));
        Walk w = fx.read(GPU, 0);
        assertEquals(0x2000_0000L, w.physAddr());
        assertSame(b, w.domain());
        assertTrue(a.attachments.isEmpty());
        a.free();
    }

    @Test
    @DisplayName("rule 98: leaving a paging domain for IDENTITY installs the bypass STE first, "
            + "then removes CD 0")
    void pagingToIdentity() {
        fx.attachedPaging(GPU);
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        long m = fx.mark();
        fx.b.attachDev(GPU, id);
        assertEquals(List.of("CFGI_STE sid=0x10 leaf=1", "CMD_SYNC",
                "CFGI_CD sid=0x10 ssid=0 leaf=1", "CMD_SYNC"), fx.cmds(m));
        assertEquals(0, fx.cd(GPU, 0)[0]);
        assertEquals(Translation.Outcome.BYPASS, fx.read(GPU, 0).outcome());
    }

    @Test
    @DisplayName("rule 44: detach without a domain is EOPNOTSUPP: SMMUv3 uses default domains")
    void detachUnsupported() {
        fx.attachedPaging(GPU);
        fx.unchanged(Errno.EOPNOTSUPP, () -> fx.b.detachDev(GPU));
    }

    @Test
    @DisplayName("decision D2: attach errors leave every table as it was")
    void attachErrors() {
        Smmuv3Domain d = fx.attachedPaging(GPU);
        Smmuv3Fixture other = new Smmuv3Fixture();
        Smmuv3Domain foreign = other.paging();
        fx.unchanged(Errno.ENODEV, () -> fx.b.attachDev("nope", d));
        fx.unchanged(Errno.EINVAL, () -> fx.b.attachDev(NIC, foreign));
        fx.unchanged(Errno.EINVAL, () -> fx.b.attachDev(NIC, null));
        Smmuv3Domain sva = (Smmuv3Domain) fx.b.svaDomainAlloc(new Smmuv3Fixture.Mm(9));
        fx.unchanged(Errno.EINVAL, () -> fx.b.attachDev(NIC, sva));
        Smmuv3Domain dead = fx.paging();
        dead.free();
        fx.unchanged(Errno.EINVAL, () -> fx.b.attachDev(NIC, dead));
        fx.unchanged(Errno.EBUSY, d::free);
    }

    @Test
    @DisplayName("rule 98: ENOMEM while allocating the CD table leaves the device where it was")
    void attachEnomem() {
        Smmuv3Domain d = fx.paging();
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        fx.b.attachDev(GPU, id);
        PhysMem mem = fx.smmu.mem;
        // Room for the L1 CD table but not for the 64 KiB level-2 table.
        mem.limit(mem.used() + 4096);
        fx.unchanged(Errno.ENOMEM, () -> fx.b.attachDev(GPU, d));
        assertEquals(null, fx.master(GPU).cdTable);
        assertEquals(Translation.Outcome.BYPASS, fx.read(GPU, 0).outcome());
        mem.limit(1L << 30);
        fx.b.attachDev(GPU, d);
        assertSame(d, fx.read(GPU, 0).domain());
    }

    @Test
    @DisplayName("section 2 SMMUv3: an STE with V=0 faults C_BAD_STE")
    void invalidSte() {
        Smmu hw = fx.smmu;
        hw.writeSte(0x20, new long[Ste.DWORDS], null);
        hw.cmdq.submit(List.of(Command.cfgiSte(0x20, true)));
        assertEquals(Smmu.C_BAD_STE, fx.read(DISK, 0).fault());
    }

    @Test
    @DisplayName("section 2 SMMUv3 (IHI0070 4.3.1): the SMMU keeps using a cached STE until "
            + "CFGI_STE and CMD_SYNC reach it")
    void staleSteWithoutCfgi() {
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        Smmuv3Domain blocked = fx.alloc(DomainType.BLOCKED);
        fx.b.attachDev(DISK, id);
        assertEquals(Translation.Outcome.BYPASS, fx.read(DISK, 0).outcome()); // cached
        fx.smmu.cmdq.drop(c -> c.op() == Command.Op.CFGI_STE);
        fx.b.attachDev(DISK, blocked);
        assertEquals(Ste.CFG_ABORT, Ste.config(fx.ste(DISK)));
        Walk stale = fx.read(DISK, 0);
        assertEquals(Translation.Outcome.BYPASS, stale.outcome());
        assertSame(id, stale.domain());
        fx.smmu.cmdq.drop(null);
        fx.smmu.cmdq.submit(List.of(Command.cfgiSte(0x20, true)));
        assertEquals(Smmu.STE_ABORT, fx.read(DISK, 0).fault());
    }

    @Test
    @DisplayName("section 2 SMMUv3 (IHI0070 4.3.1): a CFGI_STE queued without its CMD_SYNC has "
            + "not taken effect")
    void cfgiWithoutSync() {
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        Smmuv3Domain blocked = fx.alloc(DomainType.BLOCKED);
        fx.b.attachDev(DISK, id);
        fx.read(DISK, 0);
        fx.smmu.cmdq.drop(c -> c.op() == Command.Op.CMD_SYNC);
        fx.b.attachDev(DISK, blocked);
        assertEquals(1, fx.smmu.cmdq.pendingCount());
        assertEquals(Translation.Outcome.BYPASS, fx.read(DISK, 0).outcome());
        fx.smmu.cmdq.drop(null);
        fx.smmu.cmdq.issue(Command.sync());
        assertEquals(Smmu.STE_ABORT, fx.read(DISK, 0).fault());
        assertEquals(0, fx.smmu.cmdq.pendingCount());
    }
}

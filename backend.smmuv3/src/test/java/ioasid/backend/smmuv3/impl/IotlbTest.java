package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.M2;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.NIC;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.RW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/** The TLB model and the invalidations the driver sends (rules 58, 99). */
class IotlbTest {
    private final Smmuv3Fixture fx = new Smmuv3Fixture();
    private final Smmuv3Domain d = fx.attachedPaging(GPU);

    @Test
    @DisplayName("rule 58: after unmap_fast the IOTLB still translates; after iotlb_sync "
            + "(TLBI_NH_VA, CMD_SYNC) the DMA faults")
    void unmapFastThenSync() {
        d.mapPages(0x40_0000, 0x7770_0000L, K4, 1, RW);
        assertEquals(0x7770_0010L, fx.read(GPU, 0x40_0010).physAddr()); // fills the TLB
        assertEquals(List.of("asid=" + d.asid + " va=0x400000 size=0x1000"),
                fx.smmu.tlbEntries());
        IotlbGather g = new IotlbGather();
        assertEquals(K4, d.unmapPages(0x40_0000, K4, 1, g));
        assertEquals(0, d.iovaToPhys(0x40_0000));
        Walk stale = fx.read(GPU, 0x40_0010);
        assertEquals(0x7770_0010L, stale.physAddr(), "the TLB answers until invalidated");
        assertSame(d, stale.domain());
        long m = fx.mark();
        d.iotlbSync(g);
        assertEquals(List.of("TLBI_NH_VA asid=" + d.asid + " addr=0x400000 leaf=1", "CMD_SYNC"),
                fx.cmds(m));
        Walk w = fx.read(GPU, 0x40_0010);
        assertEquals(Smmu.F_TRANSLATION, w.fault());
        assertSame(d, w.domain());
    }

    @Test
    @DisplayName("rule 58: a TLBI queued without CMD_SYNC has not reached the TLB")
    void tlbiNeedsSync() {
        d.mapPages(0, 0x1000, K4, 1, RW);
        fx.read(GPU, 0);
        IotlbGather g = new IotlbGather();
        d.unmapPages(0, K4, 1, g);
        fx.smmu.cmdq.drop(c -> c.op() == Command.Op.CMD_SYNC);
        d.iotlbSync(g);
        assertEquals(Translation.Outcome.TRANSLATED, fx.read(GPU, 0).outcome());
        fx.smmu.cmdq.drop(null);
        fx.smmu.cmdq.issue(Command.sync());
        assertEquals(Smmu.F_TRANSLATION, fx.read(GPU, 0).fault());
    }

    @Test
    @DisplayName("rule 99: 512 pages or more are invalidated by ASID (TLBI_NH_ASID, CMD_SYNC)")
    void largeRangeByAsid() {
        d.mapPages(0, 0, K4, 600, RW);
        long m = fx.mark();
        assertEquals(511 * K4, fx.unmapSync(d, 0, K4, 511));
        assertEquals(512, fx.cmds(m).size(), "511 TLBI_NH_VA and a sync");
        m = fx.mark();
        assertEquals(89 * K4, fx.unmapSync(d, 511 * K4, K4, 89));
        assertEquals(90, fx.cmds(m).size());
        d.mapPages(0, 0, K4, 512, RW);
        m = fx.mark();
        fx.unmapSync(d, 0, K4, 512);
        assertEquals(List.of("TLBI_NH_ASID asid=" + d.asid, "CMD_SYNC"), fx.cmds(m));
    }

    @Test
    @DisplayName("rule 99: flush_iotlb_all is TLBI_NH_ASID then CMD_SYNC and drops only that ASID")
    void flushAll() {
        Smmuv3Domain other = fx.attachedPaging(NIC);
        d.mapPages(0, 0x1000, K4, 1, RW);
        other.mapPages(0, 0x2000, K4, 1, RW);
        fx.read(GPU, 0);
        fx.read(NIC, 0);
        long m = fx.mark();
        d.flushIotlbAll();
        assertEquals(List.of("TLBI_NH_ASID asid=" + d.asid, "CMD_SYNC"), fx.cmds(m));
        assertEquals(0, fx.smmu.tlbCount(d.asid));
        assertEquals(1, fx.smmu.tlbCount(other.asid));
    }

    @Test
    @DisplayName("rule 58: a 2M block's TLB entry covers the block; one TLBI at 2M granule drops "
            + "it")
    void blockEntryInvalidation() {
        d.mapPages(M2, 0x8000_0000L, M2, 1, RW);
        fx.read(GPU, M2 + 0x1234);
        assertEquals(0x8000_5678L, fx.read(GPU, M2 + 0x5678).physAddr()); // same entry
        assertEquals(1, fx.smmu.tlbCount(d.asid));
        long m = fx.mark();
        assertEquals(M2, fx.unmapSync(d, M2, M2, 1));
        assertEquals(List.of("TLBI_NH_VA asid=" + d.asid + " addr=0x200000 leaf=1", "CMD_SYNC"),
                fx.cmds(m));
        assertEquals(Smmu.F_TRANSLATION, fx.read(GPU, M2 + 0x5678).fault());
    }

    @Test
    @DisplayName("rule 58: unmapping a page out of a block invalidates the block's TLB entry")
    void splitInvalidatesBlockEntry() {
        d.mapPages(M2, 0x8000_0000L, M2, 1, RW);
        fx.read(GPU, M2);
        assertEquals(K4, fx.unmapSync(d, M2 + 3 * K4, K4, 1));
        assertEquals(Smmu.F_TRANSLATION, fx.read(GPU, M2 + 3 * K4).fault());
        assertEquals(0x8000_4000L, fx.read(GPU, M2 + 4 * K4).physAddr());
    }

    @Test
    @DisplayName("decision D17: freeing a domain invalidates its ASID (TLBI_NH_ASID, CMD_SYNC) and "
            + "gives the ASID back; freeing twice is EINVAL")
    void freeInvalidatesAsid() {
        Smmuv3Domain e = fx.paging();
        int asid = e.asid;
        long m = fx.mark();
        e.free();
        assertEquals(List.of("TLBI_NH_ASID asid=" + asid, "CMD_SYNC"), fx.cmds(m));
        assertNull(fx.drv.asidHolder(asid));
        assertEquals(asid, fx.paging().asid, "lowest free ASID again");
        fx.unchanged(Errno.EINVAL, e::free);
        fx.unchanged(Errno.EINVAL, () -> e.mapPages(0, 0, K4, 1, RW));
    }

    @Test
    @DisplayName("section 2 SMMUv3: ASIDs are allocated lowest-free in 8 bits without ASID16; "
            + "exhaustion is ENOSPC")
    void asid8() {
        Smmuv3Fixture f = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withAsid16(false));
        List<Smmuv3Domain> all = new ArrayList<>();
        for (int i = 1; i < 256; i++) {
            Smmuv3Domain x = f.paging();
            assertEquals(i, x.asid);
            all.add(x);
        }
        f.unchanged(Errno.ENOSPC, f::paging);
        all.get(41).free();
        assertEquals(42, f.paging().asid);
    }
}

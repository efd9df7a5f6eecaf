package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.NIC;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.RW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertNotSame;
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
import ioasid.api.iommu.spi.Walk;

/** SVA: CDs sharing the CPU's ASID and page table (rule 98, known bug 12). */
class SvaTest {
    private final Smmuv3Fixture fx = new Smmuv3Fixture();

    @Test
    @DisplayName("section 2 SMMUv3: an SVA CD carries the CPU ASID, TTB0 of the process, TBI0 and "
            + "no ASET; DMA walks the process page table")
    void svaCd() {
        Smmuv3Fixture.Mm mm = new Smmuv3Fixture.Mm(7).map(0x7000_1000L, 0x3_0000_0000L, true)
                .map(0x7000_2000L, 0x3_0000_5000L, false);
        fx.attachedPaging(GPU);
        Smmuv3Domain sva = (Smmuv3Domain) fx.b.svaDomainAlloc(mm);
        assertEquals(DomainType.SVA, sva.type());
        assertEquals(0, sva.pgsizeBitmap());
        fx.b.setDevPasid(GPU, 2, sva);
        long[] cd = fx.cd(GPU, 2);
        assertEquals(7, Cd.asid(cd[0]));
        assertFalse(Bits.bit(cd[0], 47), "ASET clear: the ASID takes broadcast TLBIs");
        assertTrue(Bits.bit(cd[0], 38), "TBI0");
        assertEquals(16, Cd.t0sz(cd[0]));
        assertEquals(sva.shared.pgd.pa, Cd.ttb0(cd[1]));
        assertEquals(Cd.CPU_MAIR, cd[3]);
        Walk w = fx.tr(GPU, 2, 0x7000_1abcL, Access.WRITE);
        assertEquals(0x3_0000_0abcL, w.physAddr());
        assertSame(sva, w.domain());
        assertEquals(Smmu.F_PERMISSION, fx.tr(GPU, 2, 0x7000_2000L, Access.WRITE).fault());
        assertEquals(Smmu.F_TRANSLATION, fx.tr(GPU, 2, 0x7000_3000L, Access.READ).fault());
        mm.map(0x7000_3000L, 0x4000, true); // the process maps: visible at once (BTM model)
        assertEquals(0x4000, fx.tr(GPU, 2, 0x7000_3000L, Access.READ).physAddr());
        assertEquals(0x3_0000_5000L, sva.iovaToPhys(0x7000_2000L));
    }

    @Test
    @DisplayName("rule 98/arm_smmu_share_asid: SVA taking a private domain's ASID moves the domain "
            + "to a new ASID: ASID change of every live CD, CMD_SYNC, TLBI_NH_ASID old, CMD_SYNC")
    void shareAsid() {
        Smmuv3Domain p = fx.attachedPaging(GPU);
        assertEquals(1, p.asid);
        fx.b.attachDev(NIC, fx.alloc(DomainType.IDENTITY));
        fx.b.setDevPasid(NIC, 3, p);
        p.mapPages(0, 0x6000, K4, 2, RW);
        fx.read(GPU, 0);
        fx.tr(NIC, 3, K4, Access.READ);
        assertEquals(2, fx.smmu.tlbCount(1));
        long[] gpuCdBefore = fx.cd(GPU, 0);

        List<Integer> oldAsidEntriesAtEachCommand = new ArrayList<>();
        fx.smmu.cmdq.observer(c -> oldAsidEntriesAtEachCommand.add(fx.smmu.tlbCount(1)));
        long m = fx.mark();
        Smmuv3Domain sva = (Smmuv3Domain) fx.b.svaDomainAlloc(new Smmuv3Fixture.Mm(1));
        assertEquals(List.of("CFGI_CD sid=0x10 ssid=0 leaf=1", "CFGI_CD sid=0x11 ssid=3 leaf=1",
                "CMD_SYNC", "TLBI_NH_ASID asid=1", "CMD_SYNC"), fx.cmds(m));
        // Until the TLBI both ASIDs tag the traffic: old-ASID entries survive the CD change.
        assertEquals(List.of(2, 2, 2, 2, 0), oldAsidEntriesAtEachCommand);
        assertEquals(2, p.asid);
        assertEquals(2, Cd.asid(fx.cd(GPU, 0)[0]));
        assertEquals(2, Cd.asid(fx.cd(NIC, 3)[0]));
        long[] gpuCdAfter = fx.cd(GPU, 0);
        assertEquals(gpuCdBefore[1], gpuCdAfter[1], "only dword 0 changes");
        assertEquals(Cd.withAsid(gpuCdBefore[0], 2), gpuCdAfter[0]);
        assertSame(p, fx.drv.asidHolder(2));
        assertInstanceOf(SharedAsid.class, fx.drv.asidHolder(1));
        assertEquals(1, sva.asid);
        // Traffic refills under the new ASID.
        assertEquals(0x6000, fx.read(GPU, 0).physAddr());
        assertEquals(1, fx.smmu.tlbCount(2));
        fx.b.setDevPasid(GPU, 8, sva);
        assertEquals(1, Cd.asid(fx.cd(GPU, 8)[0]));
    }

    @Test
    @DisplayName("known bug 12: bind, unbind, bind the same mm reuses its ASID with a refcount "
            + "of one")
    void bindUnbindBind() {
        Smmuv3Fixture.Mm mm = new Smmuv3Fixture.Mm(42).map(0x1000, 0x9000, true);
        fx.attachedPaging(GPU);
        Smmuv3Domain a = (Smmuv3Domain) fx.b.svaDomainAlloc(mm);
        fx.b.setDevPasid(GPU, 5, a);
        assertEquals(1, a.shared.refs);
        long m = fx.mark();
        fx.b.removeDevPasid(GPU, 5, a);
        assertEquals(List.of("CFGI_CD sid=0x10 ssid=5 leaf=1", "CMD_SYNC",
                "TLBI_NH_ASID asid=42", "CMD_SYNC"), fx.cmds(m));
        a.free();
        assertNull(fx.drv.asidHolder(42));
        Smmuv3Domain b = (Smmuv3Domain) fx.b.svaDomainAlloc(mm);
        fx.b.setDevPasid(GPU, 5, b);
        assertEquals(42, b.asid);
        assertEquals(1, b.shared.refs);
        assertEquals(42, Cd.asid(fx.cd(GPU, 5)[0]));
        assertSame(b, fx.tr(GPU, 5, 0x1000, Access.READ).domain());
    }

    @Test
    @DisplayName("known bug 12: a bind before the old domain's delayed release shares its ASID "
            + "entry; the release drops one reference and keeps the ASID")
    void bindBeforeRelease() {
        Smmuv3Fixture.Mm mm = new Smmuv3Fixture.Mm(42).map(0x1000, 0x9000, true);
        fx.attachedPaging(GPU);
        Smmuv3Domain a = (Smmuv3Domain) fx.b.svaDomainAlloc(mm);
        fx.b.setDevPasid(GPU, 5, a);
        fx.b.removeDevPasid(GPU, 5, a); // unbound; the free comes later (RCU)
        Smmuv3Domain b = (Smmuv3Domain) fx.b.svaDomainAlloc(mm);
        assertNotSame(a, b);
        assertSame(a.shared, b.shared);
        assertEquals(2, b.shared.refs);
        fx.b.setDevPasid(GPU, 5, b);
        a.free();
        assertEquals(1, b.shared.refs);
        assertSame(b.shared, fx.drv.asidHolder(42));
        assertEquals(0x9000, fx.tr(GPU, 5, 0x1000, Access.READ).physAddr());
        fx.unchanged(Errno.EBUSY, b::free);
        fx.b.removeDevPasid(GPU, 5, b);
        b.free();
        assertNull(fx.drv.asidHolder(42));
    }

    @Test
    @DisplayName("rule 36/decision D2: SVA errors (foreign mm on the ASID, not DMA compatible, "
            + "ASID out of range, no SVA) change nothing")
    void svaErrors() {
        Smmuv3Fixture.Mm mm = new Smmuv3Fixture.Mm(9);
        fx.b.svaDomainAlloc(mm);
        fx.unchanged(Errno.EINVAL, () -> fx.b.svaDomainAlloc(new Smmuv3Fixture.Mm(9)));
        Smmuv3Fixture.Mm incompatible = new Smmuv3Fixture.Mm(10);
        incompatible.compatible = false;
        fx.unchanged(Errno.EBUSY, () -> fx.b.svaDomainAlloc(incompatible));
        fx.unchanged(Errno.EINVAL, () -> fx.b.svaDomainAlloc(new Smmuv3Fixture.Mm(0)));
        fx.unchanged(Errno.EINVAL, () -> fx.b.svaDomainAlloc(new Smmuv3Fixture.Mm(1 << 16)));
        fx.unchanged(Errno.EINVAL, () -> fx.b.svaDomainAlloc(null));
        fx.unchanged(Errno.EOPNOTSUPP, () -> fx.b.domainAlloc(DomainType.SVA, false));
        Smmuv3Fixture narrow = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withAsid16(false));
        narrow.unchanged(Errno.EINVAL, () -> narrow.b.svaDomainAlloc(new Smmuv3Fixture.Mm(300)));
        Smmuv3Fixture off = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withSva(false));
        off.unchanged(Errno.EOPNOTSUPP, () -> off.b.svaDomainAlloc(new Smmuv3Fixture.Mm(3)));
    }

    @Test
    @DisplayName("rule 98/arm_smmu_share_asid: no ASID left for the private domain is ENOSPC, "
            + "and the private domain keeps its ASID")
    void shareAsidEnospc() {
        Smmuv3Fixture f = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withAsid16(false));
        for (int i = 1; i < 256; i++) {
            f.paging();
        }
        f.unchanged(Errno.ENOSPC, () -> f.b.svaDomainAlloc(new Smmuv3Fixture.Mm(5)));
        assertInstanceOf(Smmuv3Domain.class, f.drv.asidHolder(5));
    }

    @Test
    @DisplayName("decision D18: a PASID bound to SVA and the device's paging domain translate "
            + "independently")
    void svaAndPagingSideBySide() {
        Smmuv3Domain p = fx.attachedPaging(GPU);
        p.mapPages(0x1000, 0x11000, K4, 1, RW);
        Smmuv3Domain sva = (Smmuv3Domain) fx.b.svaDomainAlloc(new Smmuv3Fixture.Mm(77).map(0x1000, 0x22000,
                true));
        fx.b.setDevPasid(GPU, 1, sva);
        assertEquals(0x11000, fx.read(GPU, 0x1000).physAddr());
        assertSame(p, fx.read(GPU, 0x1000).domain());
        assertEquals(0x22000, fx.tr(GPU, 1, 0x1000, Access.READ).physAddr());
        assertSame(sva, fx.tr(GPU, 1, 0x1000, Access.READ).domain());
    }
}

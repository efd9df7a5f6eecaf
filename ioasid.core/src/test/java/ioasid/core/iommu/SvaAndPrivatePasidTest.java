package ioasid.core.iommu;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.EOPNOTSUPP;
import static ioasid.api.Errno.EOVERFLOW;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.PrivatePasid;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Segment;
import ioasid.api.iommu.SvaHandle;
import ioasid.api.iommu.Translation;

/** SVA (rules 36-37) and private PASIDs (seed 002, rule 104, with rules 57-58). */
class SvaAndPrivatePasidTest {
    private final IommuFixture fx = new IommuFixture();
    private final TestBackend be = fx.bind(new TestBackend("t0", 1 << 16)
            .device("a", "ga", 16).device("b", "gb", 16).device("small", "gs", 2)
            .device("n", "gn", 0));
    private final TestMm mm = new TestMm(42).map(0x7000, 0x123000);

    @Test
    @DisplayName("rule 36: the first bind allocates the process's PASID; DMA walks its page table")
    void bind() {
        SvaHandle h = fx.iommu.svaBind("a", mm);
        assertTrue(h.live());
        assertEquals(1, h.pasid().id());
        assertEquals(DomainType.SVA, h.domain().type());
        Translation t = fx.probe("a", h.pasid().id(), 0x7010);
        assertEquals(0x123010, t.physAddr());
        assertEquals(h.domain().id(), t.domainId());
        assertSame(fx.ioasid.findSet(TokenType.MM, mm), h.pasid().set(), "the process's MM set");
    }

    @Test
    @DisplayName("rules 36, 37: later binds reuse the PASID and the SVA domain; the domain goes "
            + "with its last user, the PASID with the process")
    void reuse() {
        SvaHandle ha = fx.iommu.svaBind("a", mm);
        SvaHandle hb = fx.iommu.svaBind("b", mm);
        assertSame(ha.pasid(), hb.pasid());
        assertSame(ha.domain(), hb.domain());
        fx.iommu.svaUnbind(ha);
        assertTrue(hb.domain().live());
        fx.iommu.svaUnbind(hb);
        assertFalse(hb.domain().live(), "freed with its last user");
        assertEquals(IoasidState.IDLE, ha.pasid().state(), "rule 36: not released at unbind");
        SvaHandle again = fx.iommu.svaBind("a", mm);
        assertSame(ha.pasid(), again.pasid());
        assertNotSame(ha.domain(), again.domain());
        fx.unchanged(EBUSY, () -> fx.iommu.mmRelease(mm));
        fx.iommu.svaUnbind(again);
        fx.iommu.mmRelease(mm);
        assertEquals(IoasidState.FREE, ha.pasid().state());
        fx.unchanged(ENOENT, () -> fx.iommu.mmRelease(mm));
    }

    @Test
    @DisplayName("rule 36: EOVERFLOW when the process's PASID is past the device's limit")
    void overflow() {
        for (int i = 0; i < 3; i++) {
            fx.iommu.allocGlobalPasid("a"); // PASIDs 1-3: the space is system-wide
        }
        SvaHandle h = fx.iommu.svaBind("a", mm);
        assertEquals(4, h.pasid().id());
        fx.unchanged(EOVERFLOW, () -> fx.iommu.svaBind("small", mm)); // small has 4 PASIDs
        TestMm fresh = new TestMm(9);
        fx.iommu.allocGlobalPasid("a"); // 5
        int sets = fx.ioasid.sets().length;
        fx.unchanged(ioasid.api.Errno.ENOSPC, () -> fx.iommu.svaBind("small", fresh));
        assertEquals(sets, fx.ioasid.sets().length, "no set left behind by the failed bind");
    }

    @Test
    @DisplayName("rule 36: EBUSY when the IOMMU cannot walk the page table; EOPNOTSUPP without PASID")
    void bindErrors() {
        TestMm incompatible = new TestMm(3);
        incompatible.dmaCompatible = false;
        fx.unchanged(EBUSY, () -> fx.iommu.svaBind("a", incompatible));
        fx.unchanged(EOPNOTSUPP, () -> fx.iommu.svaBind("n", mm));
        fx.unchanged(ENODEV, () -> fx.iommu.svaBind("zz", mm));
        fx.unchanged(EINVAL, () -> fx.iommu.svaBind("a", null));
        be.refuse.add(DomainType.SVA);
        EEXIST.name(); // the PASID stays the process's even when the bind fails
        assertEquals(EOPNOTSUPP, org.junit.jupiter.api.Assertions.assertThrows(
                ioasid.api.IoasidException.class, () -> fx.iommu.svaBind("a", mm)).errno());
        assertEquals(0, fx.iommu.pasids().length);
    }

    @Test
    @DisplayName("rule 37: unbinding twice is EINVAL; a handle of another core is EINVAL")
    void unbindErrors() {
        SvaHandle h = fx.iommu.svaBind("a", mm);
        fx.iommu.svaUnbind(h);
        fx.unchanged(EINVAL, () -> fx.iommu.svaUnbind(h));
        fx.unchanged(EINVAL, () -> fx.iommu.svaUnbind(null));
    }

    @Test
    @DisplayName("seed 002: a private PASID comes with its own page table, attached and mappable")
    void privatePasid() {
        PrivatePasid p = fx.iommu.privatePasidAlloc("a");
        assertEquals(DomainType.UNMANAGED, p.domain().type());
        p.map(0x10000, 0x900000, 0x2000, Prot.READ | Prot.WRITE);
        assertEquals(0x901234, p.iovaToPhys(0x11234));
        assertEquals(0x900000, fx.probe("a", p.pasid().id(), 0x10000).physAddr());
        assertEquals(Translation.Outcome.FAULT, fx.probe("a", 0, 0x10000).outcome(),
                "only the PASID sees the private table");
        assertEquals("private", fx.iommu.pasids()[0].kind);
    }

    @Test
    @DisplayName("rule 104, 58: unmap syncs; unmap_fast and tlb_range_add wait for sync or flush_tlb_all")
    void privateSync() {
        PrivatePasid p = fx.iommu.privatePasidAlloc("a");
        p.map(0x10000, 0x900000, 0x3000, Prot.READ);
        be.calls.clear();
        assertEquals(0x1000, p.unmap(0x10000, 0x1000));
        assertEquals(1, be.calls.stream().filter(c -> c.startsWith("sync")).count());
        assertEquals(0x1000, p.unmapFast(0x11000, 0x1000));
        p.tlbRangeAdd(0x40000, 0x1000);
        assertEquals(1, be.calls.stream().filter(c -> c.startsWith("sync")).count(), "gathered only");
        p.sync();
        assertTrue(be.calls.get(be.calls.size() - 1).contains("[0x11000, 0x40fff]"), be.calls.toString());
        p.sync(); // nothing gathered: nothing sent
        assertEquals(2, be.calls.stream().filter(c -> c.startsWith("sync")).count());
        p.unmapFast(0x12000, 0x1000);
        p.flushTlbAll();
        assertTrue(be.calls.get(be.calls.size() - 1).startsWith("flush"));
        p.sync();
        assertEquals(2, be.calls.stream().filter(c -> c.startsWith("sync")).count(), "flush cleared it");
    }

    @Test
    @DisplayName("seed 002: map_sg maps segments back to back, and undoes all of them on failure")
    void mapSg() {
        PrivatePasid p = fx.iommu.privatePasidAlloc("a");
        long n = p.mapSg(0x100000, List.of(new Segment(0x500000, 0x1000),
                new Segment(0x800000, 0x2000)), Prot.READ);
        assertEquals(0x3000, n);
        assertEquals(0x801000, p.iovaToPhys(0x102000));
        p.map(0x203000, 0x1000, 0x1000, Prot.READ);
        fx.unchanged(EEXIST, () -> p.mapSg(0x200000, List.of(new Segment(0x500000, 0x2000),
                new Segment(0x600000, 0x2000)), Prot.READ));
        assertEquals(0, p.iovaToPhys(0x200000));
        fx.unchanged(EINVAL, () -> p.mapSg(0x300000, List.of(), Prot.READ));
        fx.unchanged(EINVAL, () -> p.mapSg(0x300000, List.of(new Segment(0x1, 0x1000)),
                Prot.READ));
    }

    @Test
    @DisplayName("rule 57: private PASID maps refuse misaligned or overflowing arguments")
    void privateMapChecks() {
        PrivatePasid p = fx.iommu.privatePasidAlloc("a");
        fx.unchanged(EINVAL, () -> p.map(0x1001, 0x2000, 0x1000, Prot.READ));
        fx.unchanged(EINVAL, () -> p.map(0x1000, 0x2000, 0x0, Prot.READ));
        fx.unchanged(EINVAL, () -> p.map(Long.MAX_VALUE - 0xfff, 0x2000, 0x2000, Prot.READ));
        assertEquals(0, p.unmap(0x1001, 0x1000), "rule 58: misaligned unmap is 0");
        fx.unchanged(EINVAL, () -> p.tlbRangeAdd(0x1000, 0));
    }

    @Test
    @DisplayName("seed 002: freeing a private PASID releases its domain and PASID; the handle goes stale")
    void privateFree() {
        PrivatePasid p = fx.iommu.privatePasidAlloc("a");
        p.map(0x1000, 0x2000, 0x1000, Prot.READ);
        fx.iommu.privatePasidFree(p);
        assertFalse(p.live());
        assertFalse(p.domain().live());
        assertEquals(IoasidState.FREE, p.pasid().state());
        fx.unchanged(ENODEV, () -> p.map(0x5000, 0x2000, 0x1000, Prot.READ));
        fx.unchanged(ENODEV, () -> p.iovaToPhys(0x1000));
        fx.unchanged(ENODEV, () -> fx.iommu.privatePasidFree(p));
        fx.unchanged(EINVAL, () -> fx.iommu.privatePasidAlloc("n"));
        fx.unchanged(ENODEV, () -> fx.iommu.privatePasidAlloc("zz"));
    }
}

package ioasid.backend.vtd.impl;

import static ioasid.backend.vtd.impl.VtdFixture.GPU;
import static ioasid.backend.vtd.impl.VtdFixture.K4;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;

/** A PASID's domain replaced in place: rules 106, 110; D25. */
class ReplaceTest {
    private static final String W = "INV_WAIT";

    private static VtdDomain mapped(VtdFixture r, long pa) {
        VtdDomain d = r.paging();
        d.mapPages(0x1000, pa, K4, 1, Prot.READ | Prot.WRITE);
        return d;
    }

    @Test
    @DisplayName("rule 110: bare metal, a PASID moves by one write of its entry, then PASID-cache, "
            + "PASID-based IOTLB and PASID device-TLB, all with the old DID; no teardown")
    void replaceBareMetal() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        r.backend.attachDev(GPU, r.paging()); // did 2
        VtdDomain a = mapped(r, 0xa000); // did 3
        VtdDomain b = mapped(r, 0xb000); // did 4
        r.backend.setDevPasid(GPU, 5, a);
        assertEquals(0xa000, r.backend.translate(GPU, 5, 0x1000, Access.READ).physAddr());
        long m = r.mark();
        r.backend.replaceDevPasid(GPU, 5, a, b);
        assertEquals(List.of("PC_INV did=3 pasid=5 gran=PASID", W,
                "P_IOTLB_INV did=3 pasid=5 gran=PASID", W,
                "P_DEV_TLB_INV sid=0x0010 pasid=5 pfsid=0x0010 qdep=0 addr=ALL", W), r.seq(m));
        assertEquals(b.did(), PasidEntry.did(r.driver.pasidEntry(GPU, 5)));
        assertTrue(PasidEntry.present(r.driver.pasidEntry(GPU, 5)));
        var w = r.backend.translate(GPU, 5, 0x1000, Access.READ);
        assertEquals(0xb000, w.physAddr(), "the cached old entry was invalidated");
        assertSame(b, w.domain());
        assertTrue(a.attachments.isEmpty());
        assertEquals(1, b.attachments.size());
        assertSame(b, r.driver.domainOf(GPU, 5));
    }

    @Test
    @DisplayName("rule 110: in caching mode the replace still flushes the device TLB (only "
            + "teardown skips it); pass-through and first-level entries replace the same way")
    void replaceCachingModeAndKinds() {
        VtdFixture r = new VtdFixture(VtdFixture.guest().build());
        r.backend.attachDev(GPU, r.paging()); // did 2
        VtdDomain a = mapped(r, 0xa000); // did 3
        VtdDomain id = r.alloc(DomainType.IDENTITY); // did 4
        r.backend.setDevPasid(GPU, 7, a);
        long m = r.mark();
        r.backend.replaceDevPasid(GPU, 7, a, id);
        assertEquals(List.of("PC_INV did=3 pasid=7 gran=PASID", W,
                "P_IOTLB_INV did=3 pasid=7 gran=PASID", W,
                "P_DEV_TLB_INV sid=0x0010 pasid=7 pfsid=0x0010 qdep=0 addr=ALL", W), r.seq(m));
        assertEquals(PasidEntry.PGTT_PT, PasidEntry.pgtt(r.driver.pasidEntry(GPU, 7)));
        assertEquals(Translation.Outcome.BYPASS,
                r.backend.translate(GPU, 7, 0x1000, Access.READ).outcome());
        VtdDomain sva = (VtdDomain) r.backend.svaDomainAlloc(
                new VtdFixture.Process(9).map(0x1000, 0x9000, true));
        m = r.mark();
        r.backend.replaceDevPasid(GPU, 7, id, sva);
        assertEquals("PC_INV did=4 pasid=7 gran=PASID", r.seq(m).get(0), "the old DID");
        assertEquals(PasidEntry.PGTT_FL_ONLY, PasidEntry.pgtt(r.driver.pasidEntry(GPU, 7)));
        assertEquals(0x9000, r.backend.translate(GPU, 7, 0x1000, Access.READ).physAddr());
    }

    @Test
    @DisplayName("rules 106, 110: the same domain sends nothing; a wrong old domain, a PASID not "
            + "attached or PASID 0 are EINVAL; nothing written or sent")
    void replaceErrors() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain rid = r.paging();
        r.backend.attachDev(GPU, rid);
        VtdDomain a = r.paging();
        VtdDomain b = r.paging();
        r.backend.setDevPasid(GPU, 5, a);
        long m = r.mark();
        r.backend.replaceDevPasid(GPU, 5, a, a);
        assertEquals(List.of(), r.seq(m));
        r.unchanged(Errno.EINVAL, () -> r.backend.replaceDevPasid(GPU, 5, b, a));
        r.unchanged(Errno.EINVAL, () -> r.backend.replaceDevPasid(GPU, 6, a, b));
        r.unchanged(Errno.EINVAL, () -> r.backend.replaceDevPasid(GPU, 0, rid, b));
        r.unchanged(Errno.ENODEV, () -> r.backend.replaceDevPasid(GPU, 1 << 20, a, b));
    }

    @Test
    @DisplayName("D25: the RID keeps attach's teardown then setup (the SPI default, as "
            + "intel_iommu_attach_device blocks first)")
    void ridReplaceIsAttach() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain a = r.paging();
        VtdDomain b = r.paging();
        r.backend.attachDev(GPU, a);
        long m = r.mark();
        r.backend.replaceDev(GPU, a, b);
        assertEquals(List.of("PC_INV did=2 pasid=0 gran=PASID", W,
                "IOTLB_INV did=2 gran=DOMAIN", W,
                "DEV_TLB_INV sid=0x0010 pfsid=0x0010 qdep=0 addr=ALL", W,
                "WBF"), r.seq(m));
        assertEquals(b.did(), PasidEntry.did(r.driver.pasidEntry(GPU, 0)));
    }
}

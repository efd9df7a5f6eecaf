package ioasid.backend.vtd.impl;

import static ioasid.backend.vtd.impl.VtdFixture.G1;
import static ioasid.backend.vtd.impl.VtdFixture.GPU;
import static ioasid.backend.vtd.impl.VtdFixture.K4;
import static ioasid.backend.vtd.impl.VtdFixture.M2;
import static ioasid.backend.vtd.impl.VtdFixture.NIC;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.IommuCaps;
import ioasid.testkit.Expect;

/** Capability registers and what the driver makes of them; domain allocation and its errors. */
class CapsAndDomainTest {

    @Test
    @DisplayName("section 2 (VT-d): maxPasids is 2 << ECAP.PSS: PSS 19 gives 20 bits, QEMU's PSS 7 "
            + "gives 8 bits")
    void maxPasidsFromPss() {
        VtdFixture host = new VtdFixture(VtdFixture.bare().build());
        assertEquals(19, host.unit.pss());
        assertEquals(19L, (host.unit.ecap >>> 35) & 0x1f, "ECAP bits 39:35");
        assertEquals(1 << 20, host.backend.caps().maxPasids());
        VtdFixture qemu = new VtdFixture(VtdFixture.guest().pss(7).build());
        assertEquals(256, qemu.backend.caps().maxPasids());
        assertEquals(7L, (qemu.unit.ecap >>> 35) & 0x1f);
        for (int pss = 0; pss <= 19; pss++) {
            assertEquals(2 << pss, new VtdFixture(VtdFixture.bare().pss(pss).build()).backend.caps().maxPasids(),
                    "a value of N in PSS means N+1 bits");
        }
        Expect.errno(Errno.EINVAL, () -> VtdFixture.bare().pss(20).build());
    }

    @Test
    @DisplayName("section 2 (VT-d): CAP, ECAP and VCCAP carry caching mode, scalable mode, first "
            + "and second level, pass-through, nesting, VCS and PAS at their bit positions")
    void registerBits() {
        VtdParams all = VtdFixture.guest().nesting(true).vcmd(true).build();
        long cap = all.cap();
        long ecap = all.ecap();
        assertTrue((cap & (1L << 7)) != 0, "CAP.CM bit 7");
        assertEquals(0b00100, (cap >>> 8) & 0x1f, "SAGAW: 4-level tables only");
        assertEquals(47, (cap >>> 16) & 0x3f, "MGAW = 48 - 1");
        assertEquals(3, (cap >>> 34) & 0xf, "SLLPS: 2 MiB and 1 GiB");
        assertTrue((ecap & (1L << 43)) != 0, "ECAP.SMTS bit 43");
        assertTrue((ecap & (1L << 47)) != 0, "ECAP.FLTS bit 47");
        assertTrue((ecap & (1L << 46)) != 0, "ECAP.SLTS bit 46");
        assertTrue((ecap & (1L << 6)) != 0, "ECAP.PT bit 6");
        assertTrue((ecap & (1L << 26)) != 0, "ECAP.NEST bit 26");
        assertTrue((ecap & (1L << 44)) != 0, "ECAP.VCS bit 44");
        assertEquals(1L, all.vccap(), "VCCAP.PAS bit 0");
        VtdParams none = VtdFixture.bare().scalableMode(false).passThrough(false).ats(false)
                .coherent(false).build();
        assertEquals(0, none.cap() & (1L << 7));
        assertEquals(0, none.ecap() & ((1L << 43) | (1L << 47) | (1L << 46) | (1L << 6)
                | (1L << 2) | 1L | (1L << 44)));
        assertEquals(0, none.vccap());
    }

    @Test
    @DisplayName("D16: caps name the vendor, page sizes 4K|2M|1G, 48-bit IOVAs, and the domain "
            + "types ECAP.PT and ECAP.SLTS allow")
    void capsShape() {
        IommuCaps caps = new VtdFixture(VtdFixture.bare().build()).backend.caps();
        assertEquals("vtd", caps.vendor());
        assertEquals(K4 | M2 | G1, caps.pgsizeBitmap());
        assertEquals(48, caps.iasBits());
        assertEquals(48, caps.oasBits());
        assertEquals(EnumSet.of(DomainType.BLOCKED, DomainType.IDENTITY, DomainType.UNMANAGED,
                DomainType.DMA, DomainType.DMA_FQ), caps.domainTypes());
        assertTrue(caps.defaultDomains());
        assertFalse(caps.nesting());
        IommuCaps noPt = new VtdFixture(VtdFixture.bare().passThrough(false).superpages(1).build()).backend.caps();
        assertFalse(noPt.supports(DomainType.IDENTITY));
        assertEquals(K4 | M2, noPt.pgsizeBitmap());
        assertTrue(new VtdFixture(VtdFixture.bare().nesting(true).build()).backend.caps().nesting());
        IommuCaps legacy = new VtdFixture(VtdFixture.bare().scalableMode(false).build()).backend.caps();
        assertEquals(0, legacy.maxPasids(), "no PASIDs without scalable mode");
        assertTrue(legacy.supports(DomainType.DMA), "legacy mode translates second-level");
    }

    @Test
    @DisplayName("D2: domainAlloc refuses what the hardware lacks with EOPNOTSUPP and an SVA type "
            + "with EINVAL, changing nothing")
    void domainAllocErrors() {
        VtdFixture noPt = new VtdFixture(VtdFixture.bare().passThrough(false).build());
        noPt.unchanged(Errno.EOPNOTSUPP, () -> noPt.backend.domainAlloc(DomainType.IDENTITY, false));
        noPt.unchanged(Errno.EOPNOTSUPP, () -> noPt.backend.domainAlloc(DomainType.UNMANAGED, true));
        noPt.unchanged(Errno.EOPNOTSUPP, () -> noPt.backend.domainAlloc(DomainType.BLOCKED, true));
        noPt.unchanged(Errno.EINVAL, () -> noPt.backend.domainAlloc(DomainType.SVA, false));
        noPt.unchanged(Errno.EINVAL, () -> noPt.backend.domainAlloc(null, false));
        VtdFixture noSl = new VtdFixture(VtdFixture.bare().secondLevel(false).build());
        noSl.unchanged(Errno.EOPNOTSUPP, () -> noSl.backend.domainAlloc(DomainType.DMA, false));
        VtdFixture noFl = new VtdFixture(VtdFixture.bare().firstLevel(false).build());
        noFl.unchanged(Errno.EOPNOTSUPP, () -> noFl.backend.svaDomainAlloc(new VtdFixture.Process(1)));
        noFl.unchanged(Errno.EINVAL, () -> noFl.backend.svaDomainAlloc(null));
        VtdFixture legacy = new VtdFixture(VtdFixture.bare().scalableMode(false).build());
        legacy.unchanged(Errno.EOPNOTSUPP, () -> legacy.backend.svaDomainAlloc(new VtdFixture.Process(1)));
    }

    @Test
    @DisplayName("D2: each domain gets its own DID from 2 up (0 and FLPT_DEFAULT_DID 1 reserved); "
            + "CAP.ND exhausted is ENOSPC; a freed DID is reused")
    void domainIds() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().nd(0).build()); // 16 domain IDs
        assertEquals(16, r.unit.domainIds());
        Set<Integer> dids = new HashSet<>();
        VtdDomain first = null;
        for (int i = 0; i < 14; i++) {
            VtdDomain d = r.paging();
            first = first == null ? d : first;
            assertTrue(d.did() >= 2 && d.did() < 16, "DID " + d.did());
            assertTrue(dids.add(d.did()));
        }
        assertEquals(2, first.did());
        r.unchanged(Errno.ENOSPC, () -> r.backend.domainAlloc(DomainType.DMA, false));
        assertEquals(0, r.alloc(DomainType.BLOCKED).did(), "the blocking domain needs no DID");
        first.free();
        assertEquals(2, r.paging().did());
    }

    @Test
    @DisplayName("known bug 1, D17: a domain still installed cannot be freed (EBUSY), one freed is "
            + "refused by attach (EINVAL) and its page tables are gone")
    void freeRules() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain d = r.paging();
        d.mapPages(0, 0x8000_0000L, K4, 4, 3);
        r.backend.attachDev(GPU, d);
        r.unchanged(Errno.EBUSY, d::free);
        VtdDomain blocked = r.alloc(DomainType.BLOCKED);
        r.backend.attachDev(GPU, blocked);
        long live = r.unit.mem.livePages();
        d.free();
        assertTrue(r.unit.mem.livePages() < live, "page-table pages freed");
        r.unchanged(Errno.EINVAL, () -> r.backend.attachDev(NIC, d));
        Expect.errno(Errno.ENODEV, () -> d.mapPages(0, 0, K4, 1, 3));
        d.free(); // a second free finds nothing to do
        VtdFixture other = new VtdFixture(VtdFixture.bare().build());
        VtdDomain foreign = other.paging();
        r.unchanged(Errno.EINVAL, () -> r.backend.attachDev(GPU, foreign));
        r.unchanged(Errno.EINVAL, () -> r.driver.freeDomain(foreign));
        assertNotEquals(r.driver, foreign.driver());
    }

    @Test
    @DisplayName("rule 44: detachDev is EOPNOTSUPP (default domains); an unknown device is ENODEV")
    void detachAndUnknown() {
        VtdFixture r = new VtdFixture(VtdFixture.bare().build());
        VtdDomain d = r.paging();
        r.unchanged(Errno.EOPNOTSUPP, () -> r.backend.detachDev(GPU));
        r.unchanged(Errno.ENODEV, () -> r.backend.detachDev("0000:09:00.0"));
        r.unchanged(Errno.ENODEV, () -> r.backend.attachDev("0000:09:00.0", d));
        r.unchanged(Errno.ENODEV, () -> r.backend.setDevPasid("0000:09:00.0", 1, d));
        r.unchanged(Errno.ENODEV, () -> r.backend.translate("0000:09:00.0", 0, 0,
                ioasid.api.iommu.Access.READ));
    }
}

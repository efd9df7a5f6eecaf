package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.RW;
import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.Walk;

/** Replace of a master's and a PASID's domain through the entry writer: rule 109, D25. */
class ReplaceTest {
    private static final String CFGI_STE = "CFGI_STE sid=0x10 leaf=1";
    private static final String SYNC = "CMD_SYNC";

    private final Smmuv3Fixture fx = new Smmuv3Fixture();

    /** After each CMD_SYNC: the STE's Config as the SMMU holds it, and what a read of 0 does. */
    private List<String> watch() {
        List<String> seen = new ArrayList<>();
        fx.smmu.cmdq.observer(c -> {
            if (c.op() == Command.Op.CMD_SYNC) {
                long[] ste = fx.ste(GPU);
                Walk w = fx.read(GPU, 0);
                seen.add((Ste.valid(ste) ? "cfg" + Ste.config(ste) : "invalid") + " "
                        + (w.fault() != null ? w.fault() : w.outcome()));
            }
        });
        return seen;
    }

    /** Every state the SMMU saw bypassed or translated through a valid STE and CD. */
    private static void neverAborts(List<String> seen) {
        for (String s : seen) {
            assertTrue(s.equals("cfg4 BYPASS") || s.equals("cfg5 TRANSLATED"), seen.toString());
        }
    }

    @Test
    @DisplayName("rule 109: bypass to a paging domain is hitless: CD 0 first, then the STE in "
            + "three steps (S1 fields, Config, SHCFG cleared); DMA bypasses or translates, "
            + "never aborts")
    void bypassToPagingIsHitless() {
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        fx.b.attachDev(GPU, id);
        Smmuv3Domain d = fx.paging();
        d.mapPages(0, 0x3000_0000L, K4, 1, RW);
        List<String> seen = watch();
        long m = fx.mark();
        fx.b.replaceDev(GPU, id, d);
        assertEquals(List.of(
                "CFGI_CD sid=0x10 ssid=0 leaf=0", SYNC, // new L1CD (rule 99)
                "CFGI_CD sid=0x10 ssid=0 leaf=1", SYNC, // dwords 1-7
                "CFGI_CD sid=0x10 ssid=0 leaf=1", SYNC, // dword 0 with V
                CFGI_STE, SYNC, CFGI_STE, SYNC, CFGI_STE, SYNC), fx.cmds(m));
        neverAborts(seen);
        assertEquals("cfg5 TRANSLATED", seen.get(seen.size() - 1));
        assertArrayEquals(Ste.cdTable(fx.master(GPU).cdTable.root.pa, Ste.S1FMT_64K_L2, 16,
                Ste.S1DSS_SSID0), fx.ste(GPU), "SHCFG cleared at the end");
        Walk w = fx.read(GPU, 0);
        assertEquals(0x3000_0000L, w.physAddr());
        assertSame(d, w.domain());
        assertTrue(id.attachments.isEmpty());
    }

    @Test
    @DisplayName("rule 109: a paging domain to bypass is hitless, and CD 0 is cleared only after "
            + "the STE stopped using it, V first")
    void pagingToBypassIsHitless() {
        Smmuv3Domain d = fx.attachedPaging(GPU);
        d.mapPages(0, 0x3000_0000L, K4, 1, RW);
        Smmuv3Domain id = fx.alloc(DomainType.IDENTITY);
        List<String> seen = watch();
        long m = fx.mark();
        fx.b.replaceDev(GPU, d, id);
        List<String> cmds = fx.cmds(m);
        assertEquals(List.of(CFGI_STE, SYNC, CFGI_STE, SYNC, CFGI_STE, SYNC,
                "CFGI_CD sid=0x10 ssid=0 leaf=1", SYNC, "CFGI_CD sid=0x10 ssid=0 leaf=1", SYNC),
                cmds);
        neverAborts(seen);
        assertEquals("cfg5 TRANSLATED", seen.get(0), "step 1 changes unused bits only");
        assertEquals("cfg4 BYPASS", seen.get(seen.size() - 1));
        assertArrayEquals(new long[Cd.DWORDS], fx.cd(GPU, 0));
        assertEquals(Translation.Outcome.BYPASS, fx.read(GPU, 0x5000).outcome());
        assertTrue(d.attachments.isEmpty());
    }

    @Test
    @DisplayName("rule 109: stage 1 to a stage-2 nesting parent is hitless: stage 1 ignores the "
            + "VMID's and S2TTB's dwords, so only dword 0 (Config) is critical")
    void s1ToS2IsHitless() {
        Smmuv3Domain d = fx.attachedPaging(GPU);
        Smmuv3Domain s2 = fx.nestParent();
        List<String> seen = watch();
        long m = fx.mark();
        fx.b.replaceDev(GPU, d, s2);
        assertEquals(List.of(CFGI_STE, SYNC, CFGI_STE, SYNC, CFGI_STE, SYNC,
                "CFGI_CD sid=0x10 ssid=0 leaf=1", SYNC, "CFGI_CD sid=0x10 ssid=0 leaf=1", SYNC),
                fx.cmds(m));
        assertFalse(seen.toString().contains("invalid"), seen.toString());
        assertEquals("cfg5 F_TRANSLATION", seen.get(0), "dwords 1-3 first: " + seen);
        assertEquals(Ste.CFG_S2_TRANS, Ste.config(fx.ste(GPU)));
        assertEquals(s2.vmid, Ste.s2vmid(fx.ste(GPU)));
    }

    @Test
    @DisplayName("rule 109: one nesting parent to another changes the VMID and the S2TTB, two used "
            + "dwords: a breaking update, V cleared first, then dwords 1-7, then dword 0")
    void s2ToS2IsBreaking() {
        Smmuv3Domain a = fx.nestParent();
        fx.b.attachDev(GPU, a);
        Smmuv3Domain b = fx.nestParent();
        List<String> seen = watch();
        long m = fx.mark();
        fx.b.replaceDev(GPU, a, b);
        assertEquals(List.of(CFGI_STE, SYNC, CFGI_STE, SYNC, CFGI_STE, SYNC), fx.cmds(m));
        assertEquals("invalid " + Smmu.C_BAD_STE, seen.get(0), "the abort window: " + seen);
        assertEquals(b.vmid, Ste.s2vmid(fx.ste(GPU)));
        assertSame(b, fx.read(GPU, 0).domain());
    }

    @Test
    @DisplayName("rule 109: one paging domain to another keeps the STE and rewrites CD 0: ASID and "
            + "TTB0 change, so V=0, dwords 1-7, dword 0, each with CFGI_CD")
    void pagingToPagingRewritesCd0() {
        Smmuv3Domain a = fx.attachedPaging(GPU);
        Smmuv3Domain b = fx.paging();
        b.mapPages(0, 0x2000_0000L, K4, 1, RW);
        long[] ste = fx.ste(GPU);
        long m = fx.mark();
        fx.b.replaceDev(GPU, a, b);
        String cfgi = "CFGI_CD sid=0x10 ssid=0 leaf=1";
        assertEquals(List.of(cfgi, SYNC, cfgi, SYNC, cfgi, SYNC), fx.cmds(m));
        assertArrayEquals(ste, fx.ste(GPU));
        assertEquals(b.asid, Cd.asid(fx.cd(GPU, 0)[0]));
        assertEquals(0x2000_0000L, fx.read(GPU, 0).physAddr());
        assertSame(b, fx.read(GPU, 0).domain());
    }

    @Test
    @DisplayName("D25: a PASID moves to another domain by rewriting its CD in place; the STE is "
            + "not touched and the PASID never leaves the master's books")
    void pasidReplaceRewritesCd() {
        Smmuv3Domain rid = fx.attachedPaging(GPU);
        Smmuv3Domain p1 = fx.paging();
        Smmuv3Domain p2 = fx.paging();
        p2.mapPages(0x7000, 0x4000_0000L, K4, 1, RW);
        fx.b.setDevPasid(GPU, 9, p1);
        List<Boolean> held = new ArrayList<>();
        fx.smmu.cmdq.observer(c -> held.add(fx.master(GPU).pasids.containsKey(9)));
        long m = fx.mark();
        fx.b.replaceDevPasid(GPU, 9, p1, p2);
        String cfgi = "CFGI_CD sid=0x10 ssid=9 leaf=1";
        assertEquals(List.of(cfgi, SYNC, cfgi, SYNC, cfgi, SYNC), fx.cmds(m));
        assertFalse(held.contains(false));
        assertEquals(0x4000_0000L, fx.tr(GPU, 9, 0x7000, ioasid.api.iommu.Access.READ)
                .physAddr());
        assertTrue(p1.attachments.isEmpty());
        assertSame(p2, fx.master(GPU).pasids.get(9));
        assertSame(rid, fx.master(GPU).ridDomain);
    }

    @Test
    @DisplayName("rules 105, 106: the same domain is a no-op; a wrong old domain is EINVAL; a "
            + "stage-2 domain with PASIDs in use is EBUSY; nothing changes")
    void replaceErrors() {
        Smmuv3Domain d = fx.attachedPaging(GPU);
        Smmuv3Domain other = fx.paging();
        Smmuv3Domain third = fx.paging();
        Smmuv3Domain s2 = fx.nestParent();
        long m = fx.mark();
        fx.b.replaceDev(GPU, d, d);
        assertEquals(List.of(), fx.cmds(m));
        fx.unchanged(Errno.EINVAL, () -> fx.b.replaceDev(GPU, other, third));
        fx.b.setDevPasid(GPU, 3, other);
        fx.unchanged(Errno.EBUSY, () -> fx.b.replaceDev(GPU, d, s2));
        fx.unchanged(Errno.EINVAL, () -> fx.b.replaceDevPasid(GPU, 3, d, other));
        fx.unchanged(Errno.EINVAL, () -> fx.b.replaceDevPasid(GPU, 4, other, d));
        m = fx.mark();
        fx.b.replaceDevPasid(GPU, 3, other, other);
        assertEquals(List.of(), fx.cmds(m));
        assertNull(fx.master(GPU).pasids.get(4));
    }
}

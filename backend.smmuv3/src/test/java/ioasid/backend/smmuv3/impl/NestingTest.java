package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.DISK;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.GPU;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.K4;
import static ioasid.backend.smmuv3.impl.Smmuv3Fixture.NIC;
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
import ioasid.api.iommu.spi.BackendVdevice;
import ioasid.api.iommu.spi.Walk;
import ioasid.testkit.Expect;

/** Stage-2 nesting parents, vIOMMUs and their vSID tables (rules 89-92). */
class NestingTest {
    private final Smmuv3Fixture fx = new Smmuv3Fixture();

    @Test
    @DisplayName("rule 89: a nesting parent is a stage-2 domain: STE Config S2 with VMID, VTCR, "
            + "S2TTB; S2AP permissions; TLBI_S2_IPA on unmap")
    void stage2Domain() {
        Smmuv3Domain s2 = fx.nestParent();
        assertEquals(1, s2.vmid);
        long m = fx.mark();
        fx.b.attachDev(DISK, s2);
        assertEquals(List.of("CFGI_STE sid=0x20 leaf=1", "CMD_SYNC"), fx.cmds(m));
        long[] ste = fx.ste(DISK);
        assertEquals(Ste.CFG_S2_TRANS, Ste.config(ste));
        assertEquals(1, Ste.s2vmid(ste));
        long vtcr = Ste.s2vtcr(ste);
        assertEquals(16, Bits.get(vtcr, 5, 0)); // T0SZ
        assertEquals(2, Bits.get(vtcr, 7, 6)); // SL0: start at level 0
        assertEquals(5, Bits.get(vtcr, 18, 16)); // PS 48 bits
        assertTrue(Bits.bit(ste[2], 51) && Bits.bit(ste[2], 58)); // S2AA64, S2R
        assertEquals(s2.pgtable.ttb(), Ste.s2ttb(ste));
        s2.mapPages(0x2000, 0x9000, K4, 1, Prot.READ);
        Walk w = fx.read(DISK, 0x2010);
        assertEquals(0x9010, w.physAddr());
        assertSame(s2, w.domain());
        assertEquals(Smmu.F_PERMISSION, fx.tr(DISK, 0, 0x2010, Access.WRITE).fault());
        assertEquals(List.of("vmid=1 ipa=0x2000 size=0x1000"), fx.smmu.tlbEntries());
        m = fx.mark();
        fx.unmapSync(s2, 0x2000, K4, 1);
        assertEquals(List.of("TLBI_S2_IPA vmid=1 addr=0x2000 leaf=1", "CMD_SYNC"), fx.cmds(m));
        assertEquals(Smmu.F_TRANSLATION, fx.read(DISK, 0x2010).fault());
        fx.b.attachDev(DISK, fx.alloc(DomainType.BLOCKED));
        m = fx.mark();
        s2.free();
        assertEquals(List.of("TLBI_S12_VMALL vmid=1", "CMD_SYNC"), fx.cmds(m));
    }

    @Test
    @DisplayName("rule 89: a stage-2 STE has no CD table: a SubstreamID faults, PASIDs are "
            + "EINVAL, and a device with PASIDs in use cannot move to stage 2 (EBUSY)")
    void stage2AndPasids() {
        Smmuv3Domain s2 = fx.nestParent();
        Smmuv3Domain p = fx.paging();
        fx.b.attachDev(GPU, s2);
        assertEquals(Smmu.C_BAD_SUBSTREAMID, fx.tr(GPU, 1, 0, Access.READ).fault());
        fx.unchanged(Errno.EINVAL, () -> fx.b.setDevPasid(GPU, 1, p));
        fx.b.attachDev(NIC, fx.alloc(DomainType.IDENTITY));
        fx.b.setDevPasid(NIC, 1, p);
        fx.unchanged(Errno.EBUSY, () -> fx.b.attachDev(NIC, s2));
    }

    @Test
    @DisplayName("rule 89: without nesting a nesting parent and a vIOMMU are EOPNOTSUPP; a "
            + "vIOMMU on a stage-1 domain is EINVAL")
    void viommuPreconditions() {
        Smmuv3Fixture off = new Smmuv3Fixture(Smmuv3Params.DEFAULTS.withNesting(false));
        off.unchanged(Errno.EOPNOTSUPP, () -> off.b.domainAlloc(DomainType.UNMANAGED, true));
        Smmuv3Domain s1 = off.paging();
        off.unchanged(Errno.EOPNOTSUPP, () -> off.b.viommuAlloc(s1));
        Smmuv3Domain p = fx.paging();
        fx.unchanged(Errno.EINVAL, () -> fx.b.viommuAlloc(p));
        fx.unchanged(Errno.EINVAL, () -> fx.b.domainAlloc(DomainType.IDENTITY, true));
        fx.unchanged(Errno.EINVAL, () -> fx.b.domainAlloc(DomainType.DMA, true));
    }

    @Test
    @DisplayName("rule 90: vDevices fill the vSID table; a vSID and a device are each unique; "
            + "destroy removes the entry")
    void vsidTable() {
        Smmuv3Domain s2 = fx.nestParent();
        Smmuv3Viommu v = (Smmuv3Viommu) fx.b.viommuAlloc(s2);
        assertEquals(s2.vmid, v.vmid());
        BackendVdevice gpu = v.vdeviceInit(GPU, 0x8);
        v.vdeviceInit(NIC, 0x9);
        assertEquals(0x10, v.physicalSid(0x8));
        assertEquals(0x11, v.physicalSid(0x9));
        assertEquals(-1, v.physicalSid(0xa));
        fx.unchanged(Errno.EEXIST, () -> v.vdeviceInit(DISK, 0x8));
        fx.unchanged(Errno.EEXIST, () -> v.vdeviceInit(GPU, 0xa));
        fx.unchanged(Errno.EINVAL, () -> v.vdeviceInit("elsewhere", 0xa));
        fx.unchanged(Errno.EINVAL, () -> v.vdeviceInit(DISK, 1L << 32));
        fx.unchanged(Errno.EINVAL, () -> v.vdeviceInit(DISK, -1));
        gpu.destroy();
        assertEquals(-1, v.physicalSid(0x8));
        fx.unchanged(Errno.EINVAL, gpu::destroy);
        v.vdeviceInit(DISK, 0x8); // the vSID is free again
        assertEquals(0x20, v.physicalSid(0x8));
    }

    @Test
    @DisplayName("rule 92: a vIOMMU with vDevices cannot be destroyed, nor its parent freed")
    void viommuLifetime() {
        Smmuv3Domain s2 = fx.nestParent();
        Smmuv3Viommu v = (Smmuv3Viommu) fx.b.viommuAlloc(s2);
        BackendVdevice vd = v.vdeviceInit(GPU, 1);
        fx.unchanged(Errno.EBUSY, v::destroy);
        fx.unchanged(Errno.EBUSY, s2::free);
        vd.destroy();
        v.destroy();
        fx.unchanged(Errno.EINVAL, v::destroy);
        Expect.errno(Errno.ENODEV, () -> v.vdeviceInit(GPU, 2));
        s2.free();
    }

    @Test
    @DisplayName("rule 90 (IHI0070 4.3.7): guest CFGI_CD on a vSID reaches the physical "
            + "StreamID, guest TLBIs get the VMID; an unknown vSID is EIO and nothing is issued")
    void guestInvalidation() {
        Smmuv3Domain s2 = fx.nestParent();
        Smmuv3Viommu v = (Smmuv3Viommu) fx.b.viommuAlloc(s2);
        v.vdeviceInit(NIC, 0x77);
        long[] cfgi = Command.cfgiCd(0x77, 4, true).encode();
        long[] tlbi = Command.tlbiNhAsid(12).encode();
        long m = fx.mark();
        assertEquals(2, v.invalidate(new long[] {cfgi[0], cfgi[1], tlbi[0], tlbi[1]}));
        assertEquals(List.of("CFGI_CD sid=0x11 ssid=4 leaf=1",
                "TLBI_NH_ASID asid=12 vmid=" + s2.vmid, "CMD_SYNC"), fx.cmds(m));
        long[] bad = Command.cfgiCd(0x78, 4, true).encode();
        fx.unchanged(Errno.EIO, () -> v.invalidate(new long[] {tlbi[0], tlbi[1], bad[0], bad[1]}));
        long[] ste = Command.cfgiSte(0x77, true).encode();
        fx.unchanged(Errno.EIO, () -> v.invalidate(ste));
    }
}

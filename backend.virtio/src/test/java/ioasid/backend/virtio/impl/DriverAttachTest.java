package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU;
import static ioasid.backend.virtio.impl.VirtioFixture.GPU_SID;
import static ioasid.backend.virtio.impl.VirtioFixture.MSI;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC_SID;
import static ioasid.backend.virtio.impl.VirtioFixture.PROBE_GPU;
import static ioasid.backend.virtio.impl.VirtioFixture.PROBE_NIC;
import static ioasid.backend.virtio.impl.VirtioFixture.RW;
import static ioasid.backend.virtio.impl.VirtioFixture.assertBypass;
import static ioasid.backend.virtio.impl.VirtioFixture.assertFault;
import static ioasid.backend.virtio.impl.VirtioFixture.assertTranslated;
import static ioasid.backend.virtio.impl.VirtioFixture.paging;
import static ioasid.backend.virtio.impl.VirtioFixture.read;
import static ioasid.backend.virtio.impl.VirtioFixture.since;
import static ioasid.backend.virtio.impl.VirtioFixture.unchanged;
import static ioasid.backend.virtio.impl.VirtioFixture.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.testkit.Expect;

/** The driver's attach, detach and domain types, seen through the request log and translation. */
class DriverAttachTest {

    @Test
    @DisplayName("rule 101: install: PROBE at discovery, then on first attach ATTACH and the "
            + "domain's mappings replayed as MAP")
    void installSequence() {
        VirtioIommuBackend b = VirtioFixture.backend();
        assertEquals(List.of(PROBE_GPU, PROBE_NIC,
                "PROBE endpoint=0x28 : OK resv_mem msi [0xfee00000,0xfeefffff]"), b.commandLog());
        VirtioIommuDomain d = paging(b);
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        assertEquals(3, b.commandLog().size(), "no endpoint yet: recorded, not sent");
        assertEquals(-1, d.domainId(), "the ID comes with the first attach");
        b.attachDev(GPU, d);
        assertEquals(List.of("ATTACH domain=0 endpoint=0x18 flags=0 : OK",
                "MAP domain=0 [0x1000,0x1fff] -> 0x80000 rw : OK"), since(b, 3));
        assertTranslated(read(b, GPU, 0x1abc), 0x80abc, d);
        assertEquals(0, b.driver().device().endpointDomain(GPU_SID));
    }

    @Test
    @DisplayName("rule 100: domain change: ATTACH to the new domain; the device drops the emptied "
            + "old one, the driver keeps its tree and replays it when it comes back")
    void domainChange() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d1 = paging(b);
        VirtioIommuDomain d2 = paging(b);
        b.attachDev(GPU, d1);
        d1.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        d2.mapPages(0x1000, 0x90000, 0x1000, 1, RW);
        int n = b.commandLog().size();
        b.attachDev(GPU, d2);
        assertEquals(List.of("ATTACH domain=1 endpoint=0x18 flags=0 : OK",
                "MAP domain=1 [0x1000,0x1fff] -> 0x90000 rw : OK"), since(b, n));
        assertFalse(b.driver().device().hasDomain(0),
                "the device destroyed domain 0 with its mappings");
        assertEquals(1, b.driver().driverMappings(d1).size(), "the driver still holds them");
        assertEquals(0x80000, d1.iovaToPhys(0x1000));
        assertTranslated(read(b, GPU, 0x1000), 0x90000, d2);
        n = b.commandLog().size();
        b.attachDev(GPU, d1);
        assertEquals(List.of("ATTACH domain=0 endpoint=0x18 flags=0 : OK",
                "MAP domain=0 [0x1000,0x1fff] -> 0x80000 rw : OK"), since(b, n));
        assertTranslated(read(b, GPU, 0x1000), 0x80000, d1);
        assertEquals(1, b.driver().endpointCount(d1));
        assertEquals(0, b.driver().endpointCount(d2));
    }

    @Test
    @DisplayName("rule 101: teardown: detachDev sends DETACH, the device destroys the domain, DMA "
            + "faults DOMAIN; the freed ID is reused")
    void teardown() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        d.mapPages(0x4000, 0x100000, 0x1000, 4, RW);
        int n = b.commandLog().size();
        b.detachDev(GPU);
        assertEquals(List.of("DETACH domain=0 endpoint=0x18 : OK"), since(b, n));
        assertFalse(b.driver().device().hasDomain(0));
        assertFault(read(b, GPU, 0x4000), "DOMAIN");
        assertNull(b.driver().attachedDomain(GPU));
        d.free();
        assertEquals(List.of(), b.driver().driverMappings(d));
        VirtioIommuDomain next = paging(b);
        b.attachDev(NIC, next);
        assertEquals(0, next.domainId(), "lowest free ID again");
    }

    @Test
    @DisplayName("rule 44: attaching a device to the domain it is on succeeds and keeps its "
            + "translations: the device re-creates the domain and the driver replays it")
    void reattachSameDomain() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        d.mapPages(0x1000, 0x80000, 0x1000, 2, RW);
        int n = b.commandLog().size();
        b.attachDev(GPU, d);
        assertEquals(List.of("ATTACH domain=0 endpoint=0x18 flags=0 : OK",
                "MAP domain=0 [0x1000,0x2fff] -> 0x80000 rw : OK"), since(b, n));
        assertTranslated(read(b, GPU, 0x2000), 0x81000, d);
        assertEquals(1, b.driver().endpointCount(d));
        b.attachDev(NIC, d);
        n = b.commandLog().size();
        b.attachDev(GPU, d);
        assertEquals(List.of("ATTACH domain=0 endpoint=0x18 flags=0 : OK"), since(b, n),
                "another endpoint kept the domain alive: nothing to replay");
        assertTranslated(read(b, GPU, 0x2000), 0x81000, d);
        assertEquals(2, b.driver().endpointCount(d));
    }

    @Test
    @DisplayName("rule 100 (newer kernels): a domain of another virtio-iommu instance is refused "
            + "with EINVAL and nothing is sent")
    void foreignDomain() {
        VirtioIommuBackend b1 = VirtioFixture.backend();
        VirtioIommuBackend b2 = VirtioFixture.backend(VirtioFixture.params().devices(VirtioFixture.GPU_SPEC)
                .pasid(VirtioIommuParams.PasidMode.NONE, "x", "vm", 0));
        VirtioIommuDomain foreign = paging(b2);
        VirtioIommuDomain own = paging(b1);
        b1.attachDev(GPU, own);
        unchanged(b1, Errno.EINVAL, () -> b1.attachDev(GPU, foreign), own);
        assertEquals(-1, foreign.domainId(), "not finalised by the refused attach");
        assertEquals(1, b2.commandLog().size(), "b2 saw only its PROBE");
        unchanged(b1, Errno.EINVAL, () -> b1.attachDev(GPU, null), own);
    }

    @Test
    @DisplayName("rule 101 (fixed): a failed ATTACH leaves the endpoint on its old domain on both "
            + "sides and the new domain unfinalised")
    void failedAttachChangesNothing() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d1 = paging(b);
        VirtioIommuDomain d2 = paging(b);
        b.attachDev(GPU, d1);
        d1.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        b.driver().device().injectStatus(Request.T_ATTACH, Status.INVAL.code);
        int n = b.commandLog().size();
        unchangedButLog(b, Errno.EINVAL, () -> b.attachDev(GPU, d2), d1, d2);
        assertEquals(List.of("ATTACH domain=1 endpoint=0x18 flags=0 : INVAL"), since(b, n));
        assertSame(d1, b.driver().attachedDomain(GPU));
        assertEquals(-1, d2.domainId());
        assertTranslated(read(b, GPU, 0x1000), 0x80000, d1);
    }

    /** A request went out and failed: everything but the log is as it was. */
    private static void unchangedButLog(VirtioIommuBackend b, Errno errno,
            Expect.Call call, VirtioIommuDomain... ds) {
        String before = VirtioFixture.state(b, ds);
        Expect.errno(errno, call);
        assertEquals(before, VirtioFixture.state(b, ds));
    }

    @Test
    @DisplayName("decision D18: a failed replay puts the endpoint back on its old domain, whose "
            + "mappings are replayed too")
    void failedReplayRestores() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d1 = paging(b);
        VirtioIommuDomain d2 = paging(b);
        b.attachDev(GPU, d1);
        d1.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        d2.mapPages(0x1000, 0x90000, 0x1000, 1, RW);
        b.driver().device().injectStatus(Request.T_MAP, Status.NOMEM.code);
        int n = b.commandLog().size();
        unchangedButLog(b, Errno.ENOMEM, () -> b.attachDev(GPU, d2), d1, d2);
        assertEquals(List.of("ATTACH domain=1 endpoint=0x18 flags=0 : OK",
                "MAP domain=1 [0x1000,0x1fff] -> 0x90000 rw : NOMEM",
                "ATTACH domain=0 endpoint=0x18 flags=0 : OK",
                "MAP domain=0 [0x1000,0x1fff] -> 0x80000 rw : OK"), since(b, n));
        assertTranslated(read(b, GPU, 0x1000), 0x80000, d1);
        assertFalse(b.driver().device().hasDomain(1), "the half-built domain is gone");
    }

    @Test
    @DisplayName("viommu_domain_finalise: IDs are lowest-free in domain_range on first attach, "
            + "ENOSPC when none is left, and return with the domain")
    void domainIds() {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioFixture.params().domainRange(5, 6));
        VirtioIommuDomain a = paging(b);
        VirtioIommuDomain c = paging(b);
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, a);
        b.attachDev(NIC, c);
        assertEquals(List.of(5L, 6L), List.of(a.domainId(), c.domainId()));
        unchanged(b, Errno.ENOSPC, () -> b.attachDev(VirtioFixture.SSD, d), a, c, d);
        b.detachDev(GPU);
        a.free();
        b.attachDev(VirtioFixture.SSD, d);
        assertEquals(5, d.domainId());
    }

    @Test
    @DisplayName("viommu_domain_finalise: a granule larger than the kernel's 4 KiB page is ENODEV "
            + "at attach, nothing sent")
    void granuleTooLarge() {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioFixture.params().pageSizeMask(0x10000));
        VirtioIommuDomain d = paging(b);
        unchanged(b, Errno.ENODEV, () -> b.attachDev(GPU, d), d);
    }

    @Test
    @DisplayName("IDENTITY with BYPASS_CONFIG: ATTACH with ATTACH_F_BYPASS; DMA passes through")
    void identityBypass() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain id = (VirtioIommuDomain) b.domainAlloc(DomainType.IDENTITY, false);
        b.attachDev(GPU, id);
        assertEquals("ATTACH domain=0 endpoint=0x18 flags=bypass : OK",
                b.commandLog().get(b.commandLog().size() - 1));
        assertTrue(b.driver().device().domainBypass(0));
        assertBypass(write(b, GPU, 0x1234_5000L));
        assertSame(id, write(b, GPU, 0x1234_5000L).domain());
        assertEquals(0x1234_5000L, id.iovaToPhys(0x1234_5000L));
        unchanged(b, Errno.EINVAL, () -> id.mapPages(0x1000, 0x1000, 0x1000, 1, RW), id);
    }

    @Test
    @DisplayName("IDENTITY without BYPASS_CONFIG: the driver identity-maps the aperture around the "
            + "endpoint's reserved regions and replays it as MAP requests")
    void identityMapped() {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioFixture.params()
                .features(Feature.QEMU_DEVICE & ~Feature.BYPASS_CONFIG.mask())
                .inputRange(0, 0xffff_ffffL));
        VirtioIommuDomain id = (VirtioIommuDomain) b.domainAlloc(DomainType.IDENTITY, false);
        int n = b.commandLog().size();
        b.attachDev(GPU, id);
        assertEquals(List.of("ATTACH domain=0 endpoint=0x18 flags=0 : OK",
                "MAP domain=0 [0x0,0xfedfffff] -> 0x0 rw : OK",
                "MAP domain=0 [0xfef00000,0xffffffff] -> 0xfef00000 rw : OK"), since(b, n));
        assertTranslated(write(b, GPU, 0x1234_5678L), 0x1234_5678L, id);
        assertBypass(write(b, GPU, MSI + 0x40));
        assertEquals(0x1234_5678L, id.iovaToPhys(0x1234_5678L));
    }

    @Test
    @DisplayName("BLOCKED: an attached empty domain; DMA faults MAPPING even with config.bypass on, "
            + "only the MSI doorbell passes")
    void blocked() {
        VirtioIommuBackend b = VirtioFixture.backend(VirtioFixture.params().bootBypass(true));
        VirtioIommuDomain blocked = (VirtioIommuDomain) b.domainAlloc(DomainType.BLOCKED, false);
        b.attachDev(GPU, blocked);
        assertEquals("ATTACH domain=0 endpoint=0x18 flags=0 : OK",
                b.commandLog().get(b.commandLog().size() - 1));
        assertFault(read(b, GPU, 0x1000), "MAPPING");
        assertFault(write(b, GPU, 0x0), "MAPPING");
        assertBypass(write(b, GPU, MSI));
        assertEquals(0, blocked.iovaToPhys(0x1000));
        unchanged(b, Errno.EINVAL, () -> blocked.mapPages(0x1000, 0x1000, 0x1000, 1, RW),
                blocked);
        assertEquals(0, blocked.unmapPages(0x1000, 0x1000, 1, new IotlbGather()));
    }

    @Test
    @DisplayName("rule 44: detachDev leaves DMA faulting DOMAIN with config.bypass off but passing "
            + "with it on, which is why BLOCKED is an empty domain and not a DETACH")
    void detachVersusBypass() {
        for (boolean bypass : new boolean[] {false, true}) {
            VirtioIommuBackend b = VirtioFixture.backend(VirtioFixture.params().bootBypass(bypass));
            VirtioIommuDomain d = paging(b);
            b.attachDev(GPU, d);
            b.detachDev(GPU);
            if (bypass) {
                assertBypass(read(b, GPU, 0x1000));
            } else {
                assertFault(read(b, GPU, 0x1000), "DOMAIN");
            }
        }
    }

    @Test
    @DisplayName("rule 44: a device never attached is on the NULL domain: detachDev of it sends "
            + "nothing, and its DMA faults UNKNOWN")
    void detachUnattached() {
        VirtioIommuBackend b = VirtioFixture.backend();
        int n = b.commandLog().size();
        b.detachDev(NIC);
        assertEquals(n, b.commandLog().size());
        assertFault(read(b, NIC, 0x1000), "UNKNOWN");
        assertEquals(new Fault(Fault.R_UNKNOWN, Fault.F_ADDRESS, NIC_SID, 0x1000),
                b.driver().device().faults().get(0));
    }

    @Test
    @DisplayName("known bug 1: freeing an attached domain is EBUSY; a freed domain cannot be "
            + "attached; free twice is harmless")
    void freeRules() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        unchanged(b, Errno.EBUSY, d::free, d);
        b.detachDev(GPU);
        d.free();
        d.free();
        Expect.errno(Errno.EINVAL, () -> b.attachDev(GPU, d));
        Expect.errno(Errno.EINVAL, () -> d.mapPages(0x1000, 0x80000, 0x1000, 1, RW));
        assertEquals(0, d.iovaToPhys(0x1000));
    }

    @Test
    @DisplayName("rule 38/S17: no PASID support: maxPasids 0; setDevPasid, removeDevPasid, SVA, "
            + "nesting and vIOMMUs are EOPNOTSUPP; PASID-tagged DMA faults")
    void noPasids() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        assertEquals(0, b.caps().maxPasids());
        assertFalse(b.caps().nesting());
        unchanged(b, Errno.EOPNOTSUPP, () -> b.setDevPasid(GPU, 1, d), d);
        unchanged(b, Errno.EOPNOTSUPP, () -> b.removeDevPasid(GPU, 1, d), d);
        unchanged(b, Errno.EOPNOTSUPP, () -> b.svaDomainAlloc(null), d);
        unchanged(b, Errno.EOPNOTSUPP, () -> b.viommuAlloc(d), d);
        unchanged(b, Errno.EOPNOTSUPP, () -> b.domainAlloc(DomainType.UNMANAGED, true), d);
        unchanged(b, Errno.EOPNOTSUPP, () -> b.domainAlloc(DomainType.SVA, false), d);
        assertFault(b.translate(GPU, 1, 0x1000, Access.READ), "UNKNOWN");
        Expect.errno(Errno.EINVAL, () -> b.translate(GPU, -1, 0x1000, Access.READ));
    }

    @Test
    @DisplayName("decision D2: a device not behind this instance is ENODEV for attach, detach and "
            + "translate; a closed instance answers ENODEV")
    void unknownDevice() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        unchanged(b, Errno.ENODEV, () -> b.attachDev("0000:09:00.0", d), d);
        unchanged(b, Errno.ENODEV, () -> b.detachDev("0000:09:00.0"), d);
        Expect.errno(Errno.ENODEV, () -> read(b, "0000:09:00.0", 0));
        b.close();
        Expect.errno(Errno.ENODEV, () -> b.attachDev(GPU, d));
        Expect.errno(Errno.ENODEV, () -> b.domainAlloc(DomainType.DMA, false));
    }

    @Test
    @DisplayName("rule 101: two endpoints on one domain share its mappings; the domain survives on "
            + "the device until the last one leaves")
    void sharedDomain() {
        VirtioIommuBackend b = VirtioFixture.backend();
        VirtioIommuDomain d = paging(b);
        b.attachDev(GPU, d);
        b.attachDev(NIC, d);
        d.mapPages(0x10000, 0x200000, 0x1000, 16, RW);
        assertTranslated(read(b, NIC, 0x1f000), 0x20f000, d);
        b.detachDev(GPU);
        assertTrue(b.driver().device().hasDomain(0));
        assertTranslated(read(b, NIC, 0x10000), 0x200000, d);
        b.detachDev(NIC);
        assertFalse(b.driver().device().hasDomain(0));
        assertEquals(0, b.driver().endpointCount(d));
    }
}

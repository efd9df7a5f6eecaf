package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU_SID;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC_SID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.iommu.Translation;

/** The device's translation and the faults it queues (rule 103). */
class DeviceTranslateTest {

    private static VirtioIommuDevice.DeviceWalk read(VirtioIommuDevice d, long sid, long addr) {
        return d.translate(sid, addr, false);
    }

    private static VirtioIommuDevice.DeviceWalk write(VirtioIommuDevice d, long sid, long addr) {
        return d.translate(sid, addr, true);
    }

    private static void fault(VirtioIommuDevice.DeviceWalk w, String reason, int code, int flags) {
        assertEquals(Translation.Outcome.FAULT, w.outcome(), w.toString());
        assertEquals(reason, w.reason());
        assertEquals(code, w.fault().reason());
        assertEquals(flags | Fault.F_ADDRESS, w.fault().flags(), "ADDRESS is always set");
    }

    @Test
    @DisplayName("rule 103: an endpoint never attached faults UNKNOWN with its address, unless "
            + "bypass is allowed")
    void unknownEndpoint() {
        VirtioIommuDevice d = VirtioFixture.device(VirtioFixture.params());
        VirtioIommuDevice.DeviceWalk w = read(d, GPU_SID, 0x1234);
        fault(w, "UNKNOWN", Fault.R_UNKNOWN, 0);
        assertEquals(List.of(new Fault(Fault.R_UNKNOWN, Fault.F_ADDRESS, GPU_SID, 0x1234)),
                d.faults(), "queued on the event queue");
        VirtioIommuDevice open = VirtioFixture.device(VirtioFixture.params().bootBypass(true));
        assertEquals(Translation.Outcome.BYPASS, read(open, GPU_SID, 0x1234).outcome());
        assertEquals(0x1234, read(open, GPU_SID, 0x1234).phys());
        assertEquals(List.of(), open.faults());
    }

    @Test
    @DisplayName("rule 103: an endpoint with no domain faults DOMAIN, unless config.bypass lets it "
            + "through (a driver write, BYPASS_CONFIG only)")
    void noDomain() {
        VirtioIommuDevice d = VirtioFixture.device(VirtioFixture.params());
        d.process(new Request.Attach(1, GPU_SID, 0));
        d.process(new Request.Detach(1, GPU_SID));
        fault(read(d, GPU_SID, 0x5000), "DOMAIN", Fault.R_DOMAIN, 0);
        d.writeConfigBypass(true);
        assertEquals(Translation.Outcome.BYPASS, read(d, GPU_SID, 0x5000).outcome());
        VirtioIommuDevice legacy = VirtioFixture.device(VirtioFixture.params().features(
                Feature.MAP_UNMAP.mask()));
        assertThrows(IllegalStateException.class, () -> legacy.writeConfigBypass(true),
                "QEMU: cannot set config.bypass");
    }

    @Test
    @DisplayName("rule 103: no mapping faults MAPPING; a read of a write-only or a write of a "
            + "read-only mapping faults MAPPING with READ or WRITE")
    void mappingFaults() {
        VirtioIommuDevice d = VirtioFixture.device(VirtioFixture.params());
        d.process(new Request.Attach(1, GPU_SID, 0));
        d.process(new Request.Map(1, 0x1000, 0x1fff, 0x80000, Request.MAP_F_READ));
        d.process(new Request.Map(1, 0x2000, 0x2fff, 0x90000, Request.MAP_F_WRITE));
        fault(read(d, GPU_SID, 0x3000), "MAPPING", Fault.R_MAPPING, 0);
        fault(write(d, GPU_SID, 0x1000), "MAPPING", Fault.R_MAPPING, Fault.F_WRITE);
        fault(read(d, GPU_SID, 0x2000), "MAPPING", Fault.R_MAPPING, Fault.F_READ);
        assertEquals(0x80008, read(d, GPU_SID, 0x1008).phys());
        assertEquals(0x90ff8, write(d, GPU_SID, 0x2ff8).phys());
        assertEquals(1, read(d, GPU_SID, 0x1008).domain());
        assertEquals(3, d.faults().size());
        assertEquals("page fault from EP 24 at 0x1000 [W]", d.faults().get(1).toString());
    }

    @Test
    @DisplayName("rule 103: an address in an MSI region passes through; one in another reserved "
            + "region faults, even over a mapping")
    void reservedRegions() {
        VirtioIommuParams p = VirtioFixture.params().reservedRegions(
                new ResvRegion(ResvRegion.MSI, 0xfee00000L, 0xfeefffffL),
                new ResvRegion(ResvRegion.RESERVED, 0x10000, 0x1ffff));
        VirtioIommuDevice d = VirtioFixture.device(p);
        d.process(new Request.Attach(1, GPU_SID, 0));
        d.process(new Request.Map(1, 0x10000, 0x10fff, 0x80000, Request.MAP_F_READ));
        VirtioIommuDevice.DeviceWalk msi = write(d, GPU_SID, 0xfee00040L);
        assertEquals(Translation.Outcome.BYPASS, msi.outcome());
        assertEquals(0xfee00040L, msi.phys());
        fault(read(d, GPU_SID, 0x10000), "RESERVED", Fault.R_MAPPING, 0);
        assertNull(write(d, GPU_SID, 0xfeefffffL).fault());
    }

    @Test
    @DisplayName("rule 103: a bypass domain passes everything through, reserved regions included "
            + "(QEMU switches the endpoint to its bypass region)")
    void bypassDomain() {
        VirtioIommuParams p = VirtioFixture.params().reservedRegions(
                new ResvRegion(ResvRegion.RESERVED, 0x0, 0xffff));
        VirtioIommuDevice d = VirtioFixture.device(p);
        d.process(new Request.Attach(5, NIC_SID, Request.ATTACH_F_BYPASS));
        VirtioIommuDevice.DeviceWalk w = write(d, NIC_SID, 0x100);
        assertEquals(Translation.Outcome.BYPASS, w.outcome());
        assertEquals(5, w.domain());
        assertEquals(List.of(), d.faults());
    }

    @Test
    @DisplayName("S17: Linux never accepts the legacy BYPASS feature, so even offered it lets no "
            + "unattached endpoint through; negotiated it would")
    void legacyBypassFeature() {
        long offered = Feature.MAP_UNMAP.mask() | Feature.BYPASS.mask();
        VirtioIommuDevice d = VirtioFixture.device(VirtioFixture.params().features(offered));
        d.negotiate(Feature.LINUX_DRIVER);
        assertEquals(Feature.MAP_UNMAP.mask(), d.negotiatedFeatures());
        assertEquals("UNKNOWN", read(d, GPU_SID, 0).reason());
        d.negotiate(Feature.LINUX_DRIVER | Feature.BYPASS.mask());
        assertEquals(Translation.Outcome.BYPASS, read(d, GPU_SID, 0).outcome());
    }

    @Test
    @DisplayName("rule 103: the event queue keeps the newest faults when the driver falls behind")
    void eventQueueBounded() {
        VirtioIommuDevice d = VirtioFixture.device(VirtioFixture.params());
        for (int i = 0; i < VirtioIommuDevice.EVENT_QUEUE_SIZE + 10; i++) {
            read(d, GPU_SID, (long) i << 12);
        }
        List<Fault> f = d.faults();
        assertEquals(VirtioIommuDevice.EVENT_QUEUE_SIZE, f.size());
        assertEquals((long) (VirtioIommuDevice.EVENT_QUEUE_SIZE + 9) << 12,
                f.get(f.size() - 1).address());
    }
}

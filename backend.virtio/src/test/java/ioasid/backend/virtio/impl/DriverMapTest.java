package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU;
import static ioasid.backend.virtio.impl.VirtioFixture.MSI;
import static ioasid.backend.virtio.impl.VirtioFixture.NIC;
import static ioasid.backend.virtio.impl.VirtioFixture.RW;
import static ioasid.backend.virtio.impl.VirtioFixture.assertFault;
import static ioasid.backend.virtio.impl.VirtioFixture.assertTranslated;
import static ioasid.backend.virtio.impl.VirtioFixture.paging;
import static ioasid.backend.virtio.impl.VirtioFixture.read;
import static ioasid.backend.virtio.impl.VirtioFixture.since;
import static ioasid.backend.virtio.impl.VirtioFixture.unchanged;
import static ioasid.backend.virtio.impl.VirtioFixture.write;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.testkit.Expect;

/** mapPages, unmapPages, iovaToPhys and the request queue. */
class DriverMapTest {

    private final VirtioIommuBackend b = VirtioFixture.backend(VirtioFixture.params()
            .pageSizeMask(0x4020_1000L));
    private final VirtioIommuDomain d = paging(b);

    private VirtioIommuDomain attached() {
        b.attachDev(GPU, d);
        return d;
    }

    @Test
    @DisplayName("rule 57: one MAP per mapPages call, with READ/WRITE from the prot; translation "
            + "and iovaToPhys follow")
    void mapSendsOneRequest() {
        attached();
        int n = b.commandLog().size();
        d.mapPages(0x20_0000, 0x4000_0000L, 0x20_0000, 2, RW);
        d.mapPages(0x1000, 0x9000, 0x1000, 3, Prot.READ);
        assertEquals(List.of("MAP domain=0 [0x200000,0x5fffff] -> 0x40000000 rw : OK",
                "MAP domain=0 [0x1000,0x3fff] -> 0x9000 r- : OK"), since(b, n));
        assertTranslated(write(b, GPU, 0x3f_f008), 0x401f_f008L, d);
        assertFault(write(b, GPU, 0x2000), "MAPPING");
        assertEquals(Fault.F_WRITE | Fault.F_ADDRESS,
                b.driver().device().faults().get(b.driver().device().faults().size() - 1).flags());
        assertEquals(0xa010, d.iovaToPhys(0x2010));
        assertEquals(0, d.iovaToPhys(0x4000));
        d.iotlbSyncMap(0x1000, 0x3000);
        assertEquals(n + 2, b.commandLog().size(), "MAP was synchronous: sync_map sends nothing");
    }

    @Test
    @DisplayName("rule 100: mappings of a domain with no endpoint stay in the driver's tree and "
            + "reach the device as a replay on attach")
    void mapBeforeAttach() {
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        d.mapPages(0x40_0000, 0x80_0000, 0x20_0000, 1, RW);
        assertEquals(0x80_0123, d.iovaToPhys(0x40_0123));
        int n = b.commandLog().size();
        attached();
        assertEquals(List.of("ATTACH domain=0 endpoint=0x18 flags=0 : OK",
                "MAP domain=0 [0x1000,0x1fff] -> 0x80000 rw : OK",
                "MAP domain=0 [0x400000,0x5fffff] -> 0x800000 rw : OK"), since(b, n));
        assertEquals(2, b.driver().device().mappings(0).size());
    }

    @Test
    @DisplayName("BackendDomain: a map overlapping an existing one is EEXIST before any request, "
            + "both trees unchanged")
    void overlapIsEexist() {
        attached();
        d.mapPages(0x10_0000, 0x80000, 0x1000, 16, RW);
        unchanged(b, Errno.EEXIST, () -> d.mapPages(0x10_f000, 0x1000, 0x1000, 2, RW), d);
        unchanged(b, Errno.EEXIST, () -> d.mapPages(0x0, 0x0, 0x20_0000, 1, RW), d);
    }

    @Test
    @DisplayName("rule 57: an unsupported page size, misalignment, a bad count or a range outside "
            + "the aperture is EINVAL, nothing sent")
    void badArguments() {
        attached();
        unchanged(b, Errno.EINVAL, () -> d.mapPages(0x1000, 0x1000, 0x2000, 1, RW), d);
        unchanged(b, Errno.EINVAL, () -> d.mapPages(0x1000, 0x1000, 0x20_0000, 1, RW), d);
        unchanged(b, Errno.EINVAL, () -> d.mapPages(0x0, 0x1800, 0x1000, 1, RW), d);
        unchanged(b, Errno.EINVAL, () -> d.mapPages(0x0, 0x1000, 0x1000, 0, RW), d);
        unchanged(b, Errno.EINVAL, () -> d.mapPages((1L << 48) - 0x1000, 0, 0x1000, 2, RW), d);
        unchanged(b, Errno.EINVAL, () -> d.mapPages(0x1000, 0, 0x1000, Long.MAX_VALUE, RW), d);
        assertEquals(0, d.unmapPages(0x1800, 0x1000, 1, new IotlbGather()));
    }

    @Test
    @DisplayName("rule 103/PROBE: a map touching a reserved region the driver probed is EINVAL")
    void reservedRegionRefused() {
        attached();
        assertEquals(List.of(new ResvRegion(ResvRegion.MSI, MSI, 0xfeef_ffffL)),
                b.driver().reservedRegions(GPU));
        unchanged(b, Errno.EINVAL, () -> d.mapPages(MSI, 0x1000, 0x1000, 1, RW), d);
        unchanged(b, Errno.EINVAL, () -> d.mapPages(0xfe00_0000L, 0, 0x20_0000, 8, RW), d);
        d.mapPages(0xfef0_0000L, 0, 0x1000, 1, RW);
    }

    @Test
    @DisplayName("S17: the MMIO flag is bit 2 on the wire; without the MMIO feature the driver "
            + "refuses it with EINVAL")
    void mmioFlag() {
        attached();
        d.mapPages(0x1000, 0x1000_0000L, 0x1000, 1, RW | Prot.MMIO);
        assertEquals("MAP domain=0 [0x1000,0x1fff] -> 0x10000000 rw mmio : OK",
                b.commandLog().get(b.commandLog().size() - 1));
        assertEquals(Request.MAP_F_MMIO | Request.MAP_F_READ | Request.MAP_F_WRITE,
                b.driver().device().mappings(0).get(0).value().flags());
        VirtioIommuBackend noMmio = VirtioFixture.backend(VirtioFixture.params()
                .features(Feature.QEMU_DEVICE & ~Feature.MMIO.mask()));
        VirtioIommuDomain nd = paging(noMmio);
        noMmio.attachDev(GPU, nd);
        unchanged(noMmio, Errno.EINVAL, () -> nd.mapPages(0x1000, 0x1000, 0x1000, 1,
                Prot.READ | Prot.MMIO), nd);
    }

    @Test
    @DisplayName("rule 58: unmapPages only queues UNMAP; until iotlbSync kicks the queue the device "
            + "still translates (it has no IOTLB: the queue is the only delay)")
    void unmapQueuedUntilSync() {
        attached();
        d.mapPages(0x1000, 0x80000, 0x1000, 4, RW);
        int n = b.commandLog().size();
        IotlbGather g = new IotlbGather();
        assertEquals(0x4000, d.unmapPages(0x1000, 0x1000, 4, g));
        assertEquals(0, d.iovaToPhys(0x1000), "gone from the driver's tree at once");
        assertEquals(List.of(new Request.Unmap(0, 0x1000, 0x4fff)), b.driver().queued());
        assertEquals(n, b.commandLog().size(), "not kicked yet");
        assertTranslated(read(b, GPU, 0x2000), 0x81000, d);
        assertEquals(0x1000, g.start());
        assertEquals(0x4fff, g.end());
        d.iotlbSync(g);
        assertEquals(List.of("UNMAP domain=0 [0x1000,0x4fff] : OK"), since(b, n));
        assertFault(read(b, GPU, 0x2000), "MAPPING");
        assertTrue(g.isEmpty());
    }

    @Test
    @DisplayName("rule 58: iotlbSync and flushIotlbAll with nothing queued send nothing: there is "
            + "no IOTLB to invalidate")
    void syncWithNothingQueued() {
        attached();
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        int n = b.commandLog().size();
        long kicks = b.driver().kicks();
        d.iotlbSync(new IotlbGather());
        d.flushIotlbAll();
        assertEquals(n, b.commandLog().size());
        assertEquals(kicks, b.driver().kicks());
        assertTranslated(read(b, GPU, 0x1000), 0x80000, d);
    }

    @Test
    @DisplayName("rule 58: a waiting request kicks the queue: a queued UNMAP reaches the device "
            + "before a later MAP")
    void queueOrder() {
        attached();
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        d.unmapPages(0x1000, 0x1000, 1, null);
        int n = b.commandLog().size();
        d.mapPages(0x1000, 0x90000, 0x1000, 1, RW);
        assertEquals(List.of("UNMAP domain=0 [0x1000,0x1fff] : OK",
                "MAP domain=0 [0x1000,0x1fff] -> 0x90000 rw : OK"), since(b, n));
        assertTranslated(read(b, GPU, 0x1000), 0x90000, d);
    }

    @Test
    @DisplayName("rule 58: unmapPages stops at the first hole and returns the bytes before it; a "
            + "hole at the start is 0")
    void unmapStopsAtHole() {
        attached();
        d.mapPages(0x1000, 0x80000, 0x1000, 2, RW);
        d.mapPages(0x4000, 0x90000, 0x1000, 1, RW);
        assertEquals(0, d.unmapPages(0x0, 0x1000, 8, null));
        assertEquals(0x2000, d.unmapPages(0x1000, 0x1000, 4, null));
        assertEquals(0x90000, d.iovaToPhys(0x4000), "beyond the hole: still mapped");
        d.flushIotlbAll();
        assertEquals(1, b.driver().device().mappings(0).size());
    }

    @Test
    @DisplayName("rule 58/S17: UNMAP cannot split a mapping: starting inside one unmaps nothing, "
            + "starting at it unmaps it whole, more than asked")
    void noSplit() {
        attached();
        d.mapPages(0x20_0000, 0x4000_0000L, 0x1000, 512, RW);
        assertEquals(0, d.unmapPages(0x20_1000, 0x1000, 1, null));
        assertEquals(0x20_0000, d.unmapPages(0x20_0000, 0x1000, 1, null));
        d.flushIotlbAll();
        assertEquals("UNMAP domain=0 [0x200000,0x3fffff] : OK",
                b.commandLog().get(b.commandLog().size() - 1));
    }

    @Test
    @DisplayName("virtqueue: the queue holds 256 requests; the 257th UNMAP kicks the first 256")
    void fullQueueKicks() {
        attached();
        for (int i = 0; i < RequestQueue.SIZE + 1; i++) {
            d.mapPages((long) i << 12, 0x1000_0000L + ((long) i << 12), 0x1000, 1, RW);
        }
        int n = b.commandLog().size();
        for (int i = 0; i < RequestQueue.SIZE; i++) {
            d.unmapPages((long) i << 12, 0x1000, 1, null);
        }
        assertEquals(n, b.commandLog().size());
        assertEquals(RequestQueue.SIZE, b.driver().queued().size());
        d.unmapPages((long) RequestQueue.SIZE << 12, 0x1000, 1, null);
        assertEquals(n + RequestQueue.SIZE, b.commandLog().size());
        assertEquals(1, b.driver().queued().size());
    }

    @Test
    @DisplayName("rule 100: a failed MAP leaves the driver's tree as it was and throws the mapped "
            + "errno")
    void failedMapRollsBack() {
        attached();
        b.driver().device().injectStatus(Request.T_MAP, Status.RANGE.code);
        String before = VirtioFixture.state(b, d);
        Expect.errno(Errno.ERANGE, () -> d.mapPages(0x1000, 0x80000, 0x1000, 1, RW));
        assertEquals(before, VirtioFixture.state(b, d));
        assertEquals(0, d.iovaToPhys(0x1000));
    }

    @Test
    @DisplayName("rule 58: unmapping a domain with no endpoint sends nothing: the device already "
            + "dropped its mappings")
    void unmapDetachedDomain() {
        attached();
        d.mapPages(0x1000, 0x80000, 0x1000, 1, RW);
        b.detachDev(GPU);
        int n = b.commandLog().size();
        assertEquals(0x1000, d.unmapPages(0x1000, 0x1000, 1, null));
        d.flushIotlbAll();
        assertEquals(n, b.commandLog().size());
        b.attachDev(NIC, d);
        assertEquals(List.of(), b.driver().device().mappings(0), "nothing left to replay");
        assertEquals(0, b.driver().device().endpointDomain(VirtioFixture.NIC_SID));
    }
}

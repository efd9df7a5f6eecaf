package ioasid.backend.virtio.impl;

import static ioasid.backend.virtio.impl.VirtioFixture.GPU_SID;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

/** The device's MAP, UNMAP and PROBE (rule 102, S17), driven with raw requests. */
class DeviceMapTest {
    private static final int RW = Request.MAP_F_READ | Request.MAP_F_WRITE;

    private final VirtioIommuDevice dev = VirtioFixture.device(VirtioFixture.params());

    @BeforeEach
    void attach() {
        assertEquals(Status.OK.code, dev.process(new Request.Attach(1, GPU_SID, 0)).status());
        assertEquals(Status.OK.code, dev.process(new Request.Attach(2, VirtioFixture.NIC_SID,
                Request.ATTACH_F_BYPASS)).status());
    }

    private int send(Request r) {
        return dev.process(r).status();
    }

    private void refused(Status status, Request r) {
        String before = dev.state();
        assertEquals(Status.name(status.code), Status.name(send(r)), r.toString());
        assertEquals(before, dev.state(), "a refused " + r + " changed the device");
    }

    private List<String> ranges(long domain) {
        return dev.mappings(domain).stream().map(i -> Long.toHexString(i.start()) + "-"
                + Long.toHexString(i.end())).toList();
    }

    @Test
    @DisplayName("rule 102: MAP with a flag outside READ|WRITE|MMIO is INVAL; MMIO is bit 2")
    void badFlags() {
        refused(Status.INVAL, new Request.Map(1, 0x1000, 0x1fff, 0x80000, 1 << 3));
        refused(Status.INVAL, new Request.Map(1, 0x1000, 0x1fff, 0x80000, RW | 1 << 8));
        assertEquals(4, Request.MAP_F_MMIO);
        assertEquals(Status.OK.code, send(new Request.Map(1, 0x1000, 0x1fff, 0x80000,
                RW | Request.MAP_F_MMIO)));
    }

    @Test
    @DisplayName("rule 102: MAP to an unknown domain is NOENT, to a bypass domain INVAL")
    void unknownAndBypassDomain() {
        refused(Status.NOENT, new Request.Map(7, 0x1000, 0x1fff, 0x80000, RW));
        refused(Status.INVAL, new Request.Map(2, 0x1000, 0x1fff, 0x80000, RW));
    }

    @Test
    @DisplayName("rule 102: a MAP overlapping an existing mapping in any way is INVAL and changes "
            + "nothing")
    void overlapIsInval() {
        assertEquals(Status.OK.code, send(new Request.Map(1, 0x10000, 0x1ffff, 0x80000, RW)));
        long[][] overlaps = {{0x10000, 0x1ffff}, {0x12000, 0x12fff}, {0xf000, 0x10fff},
            {0x1f000, 0x20fff}, {0x0, 0xfffff}};
        for (long[] o : overlaps) {
            refused(Status.INVAL, new Request.Map(1, o[0], o[1], 0x200000, RW));
        }
        assertEquals(Status.OK.code, send(new Request.Map(1, 0x20000, 0x20fff, 0x200000, RW)),
                "adjacent is fine");
        assertEquals(List.of("10000-1ffff", "20000-20fff"), ranges(1));
    }

    @Test
    @DisplayName("virtio spec (SHOULD, not in QEMU): a reversed, misaligned or out-of-input-range "
            + "MAP is RANGE")
    void rangeChecks() {
        refused(Status.RANGE, new Request.Map(1, 0x2000, 0x1fff, 0x80000, RW));
        refused(Status.RANGE, new Request.Map(1, 0x1800, 0x1fff, 0x80000, RW));
        refused(Status.RANGE, new Request.Map(1, 0x1000, 0x17ff, 0x80000, RW));
        refused(Status.RANGE, new Request.Map(1, 0x1000, 0x1fff, 0x80800, RW));
        refused(Status.RANGE, new Request.Map(1, 1L << 48, (1L << 48) + 0xfff, 0x80000, RW));
    }

    @Test
    @DisplayName("rule 102: UNMAP removes every mapping fully inside the range, and only those")
    void unmapContained() {
        send(new Request.Map(1, 0x1000, 0x1fff, 0x80000, RW));
        send(new Request.Map(1, 0x3000, 0x4fff, 0x90000, RW));
        send(new Request.Map(1, 0x8000, 0x8fff, 0xa0000, RW));
        assertEquals(Status.OK.code, send(new Request.Unmap(1, 0x0, 0x5fff)));
        assertEquals(List.of("8000-8fff"), ranges(1));
    }

    @Test
    @DisplayName("rule 102: UNMAP meeting a partly covered mapping stops with RANGE, after removing "
            + "the fully covered ones before it")
    void unmapPartialStopsWithRange() {
        send(new Request.Map(1, 0x1000, 0x1fff, 0x80000, RW));
        send(new Request.Map(1, 0x2000, 0x2fff, 0x81000, RW));
        send(new Request.Map(1, 0x3000, 0x4fff, 0x90000, RW));
        send(new Request.Map(1, 0x6000, 0x6fff, 0xa0000, RW));
        assertEquals(Status.RANGE.code, send(new Request.Unmap(1, 0x1000, 0x3fff)));
        assertEquals(List.of("3000-4fff", "6000-6fff"), ranges(1),
                "0x1000 and 0x2000 went; the straddled one and what follows stay");
        assertEquals(Status.RANGE.code, send(new Request.Unmap(1, 0x4000, 0x6fff)),
                "a range starting inside a mapping removes nothing");
        assertEquals(List.of("3000-4fff", "6000-6fff"), ranges(1));
    }

    @Test
    @DisplayName("rule 102: UNMAP of an unmapped range is OK; of an unknown domain NOENT; of a "
            + "bypass domain INVAL")
    void unmapErrors() {
        refused(Status.OK, new Request.Unmap(1, 0x100000, 0x1fffff));
        refused(Status.NOENT, new Request.Unmap(9, 0, 0xfff));
        refused(Status.INVAL, new Request.Unmap(2, 0, 0xfff));
    }

    @Test
    @DisplayName("S17: PROBE returns one RESV_MEM property per reserved region; an endpoint not on "
            + "the bus is NOENT; properties beyond probe_size are INVAL")
    void probe() {
        RequestRecord r = dev.process(new Request.Probe(GPU_SID));
        assertEquals(Status.OK.code, r.status());
        assertEquals(List.of(new ResvRegion(ResvRegion.MSI, 0xfee00000L, 0xfeefffffL)),
                r.properties());
        assertEquals(Status.NOENT.code, send(new Request.Probe(0x99)));
        VirtioIommuParams two = VirtioFixture.params().reservedRegions(
                new ResvRegion(ResvRegion.MSI, 0xfee00000L, 0xfeefffffL),
                new ResvRegion(ResvRegion.RESERVED, 0x0, 0xfff)).probeSize(47);
        assertEquals(Status.INVAL.code, VirtioFixture.device(two).process(new Request.Probe(GPU_SID))
                .status(), "48 bytes of properties do not fit 47");
        assertEquals(2, VirtioFixture.device(two.probeSize(48)).process(new Request.Probe(GPU_SID))
                .properties().size());
    }

    @Test
    @DisplayName("S17: domain and endpoint IDs are 32-bit fields of the request")
    void idsAre32Bit() {
        assertThrows(IllegalArgumentException.class, () -> new Request.Attach(1L << 32, 1, 0));
        assertThrows(IllegalArgumentException.class, () -> new Request.Probe(-1));
        assertEquals("MAP domain=3 [0x1000,0x1fff] -> 0x80000 rw : OK",
                new RequestRecord(1, new Request.Map(3, 0x1000, 0x1fff, 0x80000, RW), 0,
                        List.of()).toString());
    }
}

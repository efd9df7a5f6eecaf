package ioasid.backend.virtio.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.function.Executable;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.Walk;
import ioasid.testkit.Expect;

/** Builders and checks shared by the tests. */
final class VirtioFixture {
    static final String GPU = "0000:00:03.0";
    static final String NIC = "0000:00:04.0";
    static final String SSD = "0000:00:05.0";
    static final String GPU_SPEC = GPU + ";sid=0x18";
    static final String NIC_SPEC = NIC + ";sid=0x20";
    static final String SSD_SPEC = SSD + ";sid=0x28";
    static final long GPU_SID = 0x18;
    static final long NIC_SID = 0x20;
    static final long SSD_SID = 0x28;
    static final long MSI = 0xfee0_0000L;
    static final String PROBE_GPU = "PROBE endpoint=0x18 : OK resv_mem msi [0xfee00000,0xfeefffff]";
    static final String PROBE_NIC = "PROBE endpoint=0x20 : OK resv_mem msi [0xfee00000,0xfeefffff]";
    static final int RW = ioasid.api.iommu.Prot.READ | ioasid.api.iommu.Prot.WRITE;

    private VirtioFixture() {
    }

    /** QEMU's defaults with three endpoints. */
    static VirtioIommuParams params() {
        return VirtioIommuParams.defaults("viommu0").devices(GPU_SPEC, NIC_SPEC, SSD_SPEC);
    }

    static VirtioIommuBackend backend() {
        return backend(params());
    }

    static VirtioIommuBackend backend(VirtioIommuParams p) {
        return new VirtioIommuBackend(p, new HostChannels());
    }

    /** A device model alone, with the three endpoints on its bus. */
    static VirtioIommuDevice device(VirtioIommuParams p) {
        VirtioIommuDevice d = new VirtioIommuDevice(p);
        for (ioasid.api.iommu.spi.DeviceInfo i : p.devices) {
            d.plug(i.streamId());
        }
        return d;
    }

    static VirtioIommuDomain paging(VirtioIommuBackend b) {
        return (VirtioIommuDomain) b.domainAlloc(DomainType.DMA, false);
    }

    /** Everything both halves hold, but the device's log: what a refused call must not change. */
    static String state(VirtioIommuBackend b, VirtioIommuDomain... domains) {
        StringBuilder s = new StringBuilder(b.driver().device().state());
        s.append("queued ").append(b.driver().queued()).append('\n');
        for (String dev : new String[] {GPU, NIC, SSD}) {
            VirtioIommuDomain d = b.driver().attachedDomain(dev);
            s.append(dev).append(" -> ").append(d == null ? "none" : d.domainId()).append('\n');
        }
        for (VirtioIommuDomain d : domains) {
            s.append(d).append(" eps ").append(b.driver().endpointCount(d)).append(' ');
            for (IntervalMap.Interval<VirtioIommuDomain.Mapping> m : b.driver().driverMappings(d)) {
                s.append('[').append(Long.toHexString(m.start())).append(',')
                        .append(Long.toHexString(m.end())).append("]->")
                        .append(Long.toHexString(m.value().paddr())).append(' ');
            }
            s.append('\n');
        }
        return s.toString();
    }

    /** Expects the errno, and neither half nor the request log changed. */
    static IoasidException unchanged(VirtioIommuBackend b, Errno errno, Expect.Call call,
            VirtioIommuDomain... domains) {
        String before = state(b, domains);
        List<String> log = b.commandLog();
        IoasidException e = Expect.errno(errno, call);
        assertEquals(before, state(b, domains), "state changed by a failed call: " + e);
        assertEquals(log, b.commandLog(), "a request went out: " + e);
        return e;
    }

    /** The log entries added since {@code from} entries. */
    static List<String> since(VirtioIommuBackend b, int from) {
        List<String> all = b.commandLog();
        return new ArrayList<>(all.subList(from, all.size()));
    }

    static void assertTranslated(Walk w, long phys, VirtioIommuDomain domain) {
        assertEquals(Translation.Outcome.TRANSLATED, w.outcome(), w.toString());
        assertEquals(phys, w.physAddr(), w.toString());
        assertEquals(domain, w.domain());
    }

    static void assertFault(Walk w, String reason) {
        assertEquals(Translation.Outcome.FAULT, w.outcome(), w.toString());
        assertEquals(reason, w.fault(), w.toString());
    }

    static void assertBypass(Walk w) {
        assertEquals(Translation.Outcome.BYPASS, w.outcome(), w.toString());
    }

    static Walk read(VirtioIommuBackend b, String dev, long iova) {
        return b.translate(dev, 0, iova, Access.READ);
    }

    static Walk write(VirtioIommuBackend b, String dev, long iova) {
        return b.translate(dev, 0, iova, Access.WRITE);
    }
}

package ioasid.backend.smmuv3.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.function.Executable;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;
import ioasid.testkit.Expect;

/** Builds an SMMU with a few devices and reads its tables and queue for the tests. */
final class Smmuv3Fixture {
    static final String GPU = "0000:00:03.0"; // sid 0x10, 20 PASID bits
    static final String NIC = "0000:00:04.0"; // sid 0x11, 5 PASID bits
    static final String DISK = "0000:00:05.0"; // sid 0x20, no PASID
    static final long K4 = 1L << 12;
    static final long M2 = 1L << 21;
    static final long G1 = 1L << 30;
    static final int RW = Prot.READ | Prot.WRITE;

    final Smmuv3Backend b;
    final Smmuv3Driver drv;
    final Smmu smmu;

    Smmuv3Fixture(Smmuv3Params hw, String... devices) {
        b = new Smmuv3Backend("smmu0", List.of(devices), hw);
        drv = b.driver;
        smmu = drv.smmu;
    }

    Smmuv3Fixture(Smmuv3Params hw) {
        this(hw, GPU + ";sid=0x10;pasid=20;group=gpu", NIC + ";sid=0x11;pasid=5",
                DISK + ";sid=0x20");
    }

    Smmuv3Fixture() {
        this(Smmuv3Params.DEFAULTS);
    }

    // ------------------------------------------------------------------ domains

    Smmuv3Domain alloc(DomainType type) {
        return (Smmuv3Domain) b.domainAlloc(type, false);
    }

    Smmuv3Domain paging() {
        return alloc(DomainType.UNMANAGED);
    }

    Smmuv3Domain nestParent() {
        return (Smmuv3Domain) b.domainAlloc(DomainType.UNMANAGED, true);
    }

    /** A paging domain attached to the device. */
    Smmuv3Domain attachedPaging(String device) {
        Smmuv3Domain d = paging();
        b.attachDev(device, d);
        return d;
    }

    long unmapSync(Smmuv3Domain d, long iova, long pgsize, long count) {
        IotlbGather g = new IotlbGather();
        long n = d.unmapPages(iova, pgsize, count, g);
        d.iotlbSync(g);
        return n;
    }

    // ------------------------------------------------------------------ hardware views

    Master master(String device) {
        return drv.masterOf(device);
    }

    long[] ste(String device) {
        return smmu.readSte(master(device).sid);
    }

    long cdAddr(String device, int ssid) {
        return master(device).cdTable.cdAddress(ssid);
    }

    long[] cd(String device, int ssid) {
        return smmu.readWords(cdAddr(device, ssid), Cd.DWORDS);
    }

    Walk tr(String device, int pasid, long iova, Access access) {
        return b.translate(device, pasid, iova, access);
    }

    Walk read(String device, long iova) {
        return tr(device, 0, iova, Access.READ);
    }

    // ------------------------------------------------------------------ command queue

    long mark() {
        return smmu.cmdq.issued();
    }

    List<String> cmds(long mark) {
        List<String> out = new ArrayList<>();
        for (Command c : smmu.cmdq.since(mark)) {
            out.add(c.toString());
        }
        return out;
    }

    List<Command> records(long mark) {
        return smmu.cmdq.since(mark);
    }

    // ------------------------------------------------------------------ errors

    /** Expects the errno and that tables, caches, ASIDs, memory and the queue are unchanged. */
    IoasidException unchanged(Errno errno, Expect.Call call) {
        String before = drv.state();
        IoasidException e = Expect.errno(errno, call);
        assertEquals(before, drv.state(), "state changed by a failed call: " + e.getMessage());
        return e;
    }

    /** A process address space with a plain page map. */
    static final class Mm implements ProcessAddressSpace {
        final int asid;
        boolean compatible = true;
        final Map<Long, long[]> pages = new HashMap<>();

        Mm(int asid) {
            this.asid = asid;
        }

        Mm map(long va, long pa, boolean writable) {
            pages.put(va & -K4, new long[] {pa & -K4, writable ? 1 : 0});
            return this;
        }

        @Override
        public long translate(long va, Access access) {
            long[] e = pages.get(va & -K4);
            if (e == null || (access == Access.WRITE && e[1] == 0)) {
                return -1;
            }
            return e[0] | (va & (K4 - 1));
        }

        @Override
        public int asid() {
            return asid;
        }

        @Override
        public boolean dmaCompatible() {
            return compatible;
        }
    }
}

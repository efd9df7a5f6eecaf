package ioasid.backend.vtd.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

import org.junit.jupiter.api.function.Executable;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.DeviceInfo;
import ioasid.testkit.Expect;

/** One VT-d unit built without a framework, with helpers to read its queue and state. */
final class VtdFixture {
    /** PASID-capable, 20 bits, RID 00:02.0. */
    static final String GPU = "0000:00:02.0";
    /** No PASID capability, RID 00:03.0. */
    static final String NIC = "0000:00:03.0";
    /** 8-bit PASIDs, RID 01:10.0 (devfn 0x80: the upper half of its root entry). */
    static final String ACC = "0000:01:10.0";
    static final int GPU_RID = 0x10;
    static final int NIC_RID = 0x18;
    static final int ACC_RID = 0x180;

    static final long K4 = 1L << 12;
    static final long M2 = 1L << 21;
    static final long G1 = 1L << 30;

    final VtdBackend backend;
    final VtdDriver driver;
    final DmarUnit unit;

    VtdFixture(VtdParams params) {
        this(params, null);
    }

    VtdFixture(VtdParams params, VcmdHost host) {
        this("dmar0", params, host);
    }

    VtdFixture(String name, VtdParams params, VcmdHost host) {
        this.backend = new VtdBackend(name, devices(), params, host);
        this.driver = backend.driver();
        this.unit = driver.unit();
    }

    static List<DeviceInfo> devices() {
        return List.of(DeviceInfo.parse(GPU + ";sid=0x10;pasid=20", 0),
                DeviceInfo.parse(NIC + ";sid=0x18", 0),
                DeviceInfo.parse(ACC + ";sid=0x180;pasid=8;group=acc", 0));
    }

    static VtdParams.Builder bare() {
        return VtdParams.builder();
    }

    static VtdParams.Builder guest() {
        return VtdParams.builder().cachingMode(true);
    }

    VtdDomain alloc(DomainType type) {
        return (VtdDomain) backend.domainAlloc(type, false);
    }

    VtdDomain paging() {
        return alloc(DomainType.UNMANAGED);
    }

    long mark() {
        return unit.queue.mark();
    }

    List<Command> since(long mark) {
        return unit.queue.since(mark);
    }

    /** The commands since a mark as strings, waits without their status address. */
    List<String> seq(long mark) {
        List<String> out = new ArrayList<>();
        for (Command c : since(mark)) {
            out.add(c.op() == Command.Op.INV_WAIT ? "INV_WAIT" : c.toString());
        }
        return out;
    }

    String state() {
        return driver.stateDigest();
    }

    /** Expects the call to fail with the errno and to leave tables, caches and queue alone. */
    IoasidException unchanged(Errno errno, Expect.Call call) {
        String before = state();
        long mark = mark();
        IoasidException e = Expect.errno(errno, call);
        assertEquals(List.of(), seq(mark), "commands sent by a failed call: " + e.getMessage());
        assertEquals(before, state(), "state changed by a failed call: " + e.getMessage());
        return e;
    }

    /** A process address space with a page map of its own, for SVA. */
    static final class Process implements ProcessAddressSpace {
        final Map<Long, Long> pages = new ConcurrentHashMap<>();
        final Map<Long, Boolean> writable = new ConcurrentHashMap<>();
        final int asid;

        Process(int asid) {
            this.asid = asid;
        }

        Process map(long va, long pa, boolean write) {
            pages.put(va & ~(K4 - 1), pa & ~(K4 - 1));
            writable.put(va & ~(K4 - 1), write);
            return this;
        }

        @Override
        public long translate(long va, Access access) {
            Long pa = pages.get(va & ~(K4 - 1));
            if (pa == null || access == Access.WRITE && !writable.get(va & ~(K4 - 1))) {
                return -1;
            }
            return pa + (va & (K4 - 1));
        }

        @Override
        public int asid() {
            return asid;
        }
    }
}

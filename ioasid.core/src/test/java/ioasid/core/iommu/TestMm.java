package ioasid.core.iommu;

import java.util.concurrent.ConcurrentHashMap;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.ProcessAddressSpace;

/** A process address space with a page map the CPU would walk. */
final class TestMm implements ProcessAddressSpace {
    final int asid;
    final ConcurrentHashMap<Long, Long> pages = new ConcurrentHashMap<>();
    volatile boolean dmaCompatible = true;

    TestMm(int asid) {
        this.asid = asid;
    }

    TestMm map(long va, long pa) {
        pages.put(va & ~4095L, pa & ~4095L);
        return this;
    }

    @Override
    public long translate(long va, Access access) {
        Long pa = pages.get(va & ~4095L);
        return pa == null ? -1 : pa + (va & 4095);
    }

    @Override
    public int asid() {
        return asid;
    }

    @Override
    public boolean dmaCompatible() {
        return dmaCompatible;
    }

    @Override
    public String toString() {
        return "mm" + asid;
    }
}

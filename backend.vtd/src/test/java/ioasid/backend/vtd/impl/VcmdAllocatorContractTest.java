package ioasid.backend.vtd.impl;

import java.util.concurrent.atomic.AtomicInteger;

import ioasid.api.spi.IoasidAllocator;
import ioasid.testkit.contracts.IoasidAllocatorContract;

/**
 * The guest's VCMD allocator held to the allocator contract (rules 30, 97): each allocator is a
 * guest vIOMMU's, over a VMM with a space of its own; a sibling is a second vIOMMU of the same
 * guest, talking to the same VMM.
 */
class VcmdAllocatorContractTest extends IoasidAllocatorContract {
    private static final int QUOTA = 24;
    private static final AtomicInteger UNITS = new AtomicInteger();

    private VcmdHost vmm;

    private static IoasidAllocator vIommu(VcmdHost vmm) {
        VtdFixture unit = new VtdFixture("dmar" + UNITS.incrementAndGet(),
                VtdFixture.guest().vcmd(true).build(), vmm);
        return unit.backend.guestAllocator();
    }

    @Override
    protected IoasidAllocator createAllocator() {
        vmm = new VcmdHost("vm-contract", QUOTA);
        return vIommu(vmm);
    }

    @Override
    protected int capacity() {
        return QUOTA;
    }

    @Override
    protected IoasidAllocator createSibling(IoasidAllocator first) {
        return vIommu(vmm);
    }

    /** The VMM answers the next command with a host failure; the suite makes one call. */
    @Override
    protected boolean breakBacking(IoasidAllocator allocator) {
        vmm.forceNextStatus(VcmdHost.SC_HOST_FAILURE);
        return true;
    }
}

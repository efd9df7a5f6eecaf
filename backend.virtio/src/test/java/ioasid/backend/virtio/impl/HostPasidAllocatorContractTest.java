package ioasid.backend.virtio.impl;

import java.util.ArrayList;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;

import ioasid.api.spi.IoasidAllocator;
import ioasid.backend.virtio.impl.VirtioIommuParams.PasidMode;
import ioasid.core.impl.IoasidCore;
import ioasid.testkit.contracts.IoasidAllocatorContract;

/**
 * The guest PASID allocator of a virtio-iommu held to the allocator contract: each allocator
 * reaches a host IOASID service through a channel of its own, in a VM set of its own whose quota
 * is the capacity; a sibling is a second virtio-iommu on the same channel (rule 17).
 */
class HostPasidAllocatorContractTest extends IoasidAllocatorContract {
    private static final int QUOTA = 24;
    private static final AtomicInteger CHANNELS = new AtomicInteger();

    private final IoasidCore host = new IoasidCore(20, 10_000);
    private final HostChannels channels = new HostChannels();
    /** The instances of each allocator's channel, which offer the host to it. */
    private final Map<HostChannel, List<VirtioIommuBackend>> users = new IdentityHashMap<>();

    @AfterEach
    void closeHost() {
        host.close();
    }

    private IoasidAllocator viommu(String channel) {
        String name = "viommu" + CHANNELS.incrementAndGet();
        VirtioIommuBackend b = new VirtioIommuBackend(VirtioIommuParams.defaults(name)
                .devices(name + "-dev;sid=0x8")
                .pasid(PasidMode.HOST_SHARED, channel, "vm-" + channel, QUOTA), channels);
        b.bindHost(host);
        users.computeIfAbsent(b.pasidAllocator().channel, c -> new ArrayList<>()).add(b);
        return b.pasidAllocator();
    }

    private List<VirtioIommuBackend> usersOf(IoasidAllocator allocator) {
        return users.get(((HostPasidAllocator) allocator).channel);
    }

    @Override
    protected IoasidAllocator createAllocator() {
        return viommu("contract-" + CHANNELS.incrementAndGet());
    }

    @Override
    protected int capacity() {
        return QUOTA;
    }

    @Override
    protected IoasidAllocator createSibling(IoasidAllocator first) {
        return viommu(((HostPasidAllocator) first).channel.name);
    }

    /** The host service goes away: the channel has none to ask. */
    @Override
    protected boolean breakBacking(IoasidAllocator allocator) {
        usersOf(allocator).forEach(b -> b.unbindHost(host));
        return true;
    }

    @Override
    protected void mendBacking(IoasidAllocator allocator) {
        usersOf(allocator).forEach(b -> b.bindHost(host));
    }

    @Override
    protected void release(IoasidAllocator allocator) {
        for (VirtioIommuBackend b : usersOf(allocator)) {
            b.close();
        }
    }
}

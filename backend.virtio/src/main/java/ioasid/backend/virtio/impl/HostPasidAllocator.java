package ioasid.backend.virtio.impl;

import ioasid.api.spi.IoasidAllocator;

/**
 * One virtio-iommu's custom IOASID allocator in the guest (rule 30's shape, for virtio): alloc
 * and free go through the host channel, whose identity is the helper identity, so instances on
 * one channel share a guest ID space and instances on their own channels do not. The instance
 * itself stands for the kernel's per-vIOMMU private data.
 */
final class HostPasidAllocator implements IoasidAllocator {
    final HostChannel channel;
    final String viommu;

    HostPasidAllocator(HostChannel channel, String viommu) {
        this.channel = channel;
        this.viommu = viommu;
    }

    @Override
    public int alloc(int min, int max) {
        return channel.alloc(min, max, viommu);
    }

    @Override
    public void free(int id) {
        channel.free(id, viommu);
    }

    @Override
    public Object helpers() {
        return channel;
    }

    @Override
    public String toString() {
        return "virtio-iommu " + viommu + " PASID allocator via " + channel.name;
    }
}

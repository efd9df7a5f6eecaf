package ioasid.backend.virtio.impl;

import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.IotlbGather;

/**
 * The driver's domain ({@code struct viommu_domain}): its own interval tree of mappings, kept for
 * replay and unmap bookkeeping, the domain ID it got on first attach, and how many endpoints are
 * attached. The device keeps the mappings that count for translation; this tree is what the
 * driver sends it. Every field is guarded by the owning instance's lock.
 */
final class VirtioIommuDomain implements BackendDomain {

    /** A mapping as the driver records it. */
    record Mapping(long paddr, int flags) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VirtioIommuBackend
            return o instanceof Mapping m && m.paddr == paddr && m.flags == flags;
        }

        @Override
        public int hashCode() {
            return 31 * Long.hashCode(paddr) + flags;
        }

        @Override
        public String toString() {
            return "Mapping[paddr=" + paddr + ", flags=" + flags + "]";
        }
    }

    final VirtioIommuBackend viommu;
    final DomainType type;
    /** An IDENTITY domain attached with ATTACH_F_BYPASS (BYPASS_CONFIG negotiated). */
    final boolean bypass;

    long id = -1;
    final IntervalMap<Mapping> mappings = new IntervalMap<>();
    int nrEndpoints;
    boolean freed;

    VirtioIommuDomain(VirtioIommuBackend viommu, DomainType type, boolean bypass) {
        this.viommu = viommu;
        this.type = type;
        this.bypass = bypass;
    }

    @Override
    public DomainType type() {
        return type;
    }

    @Override
    public long pgsizeBitmap() {
        return viommu.pgsizeBitmap();
    }

    @Override
    public long apertureEnd() {
        return viommu.apertureEnd();
    }

    @Override
    public void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        viommu.mapPages(this, iova, paddr, pgsize, count, prot);
    }

    @Override
    public long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
        return viommu.unmapPages(this, iova, pgsize, count, gather);
    }

    @Override
    public long iovaToPhys(long iova) {
        return viommu.iovaToPhys(this, iova);
    }

    /** MAP requests complete before mapPages returns: nothing is left to push. */
    @Override
    public void iotlbSyncMap(long iova, long size) {
    }

    /** Kicks the request queue and waits: queued UNMAPs reach the device (no IOTLB exists). */
    @Override
    public void iotlbSync(IotlbGather gather) {
        viommu.syncDomain(this, gather);
    }

    @Override
    public void flushIotlbAll() {
        viommu.syncDomain(this, null);
    }

    @Override
    public void free() {
        viommu.freeDomain(this);
    }

    /** The domain ID, or -1 before the first attach. */
    long domainId() {
        return viommu.domainIdOf(this);
    }

    @Override
    public String toString() {
        return "virtio-iommu " + viommu.name() + " " + type.sysfsName() + " domain"
                + (id >= 0 ? " " + id : "") + (bypass ? " (bypass)" : "");
    }
}

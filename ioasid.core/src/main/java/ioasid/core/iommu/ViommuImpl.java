package ioasid.core.iommu;

import java.util.concurrent.ConcurrentHashMap;

import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Viommu;
import ioasid.api.iommu.spi.BackendViommu;

/** A vIOMMU with its virtual-ID table, filled by compare-and-exchange (rule 90). */
final class ViommuImpl implements Viommu {
    final IommuState owner;
    final int id;
    final BackendEntry backend;
    final DomainImpl parent;
    volatile BackendViommu hw;
    /** Virtual ID to vDevice: the kernel's viommu->vdevs XArray. */
    final ConcurrentHashMap<Long, VdeviceImpl> vdevs = new ConcurrentHashMap<>();
    volatile boolean live = true;

    ViommuImpl(IommuState owner, int id, BackendEntry backend, DomainImpl parent,
            BackendViommu hw) {
        this.owner = owner;
        this.id = id;
        this.backend = backend;
        this.parent = parent;
        this.hw = hw;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String backend() {
        return backend.name;
    }

    @Override
    public IommuDomain parent() {
        return parent;
    }

    @Override
    public boolean live() {
        return live;
    }

    @Override
    public String toString() {
        return "vIOMMU " + id + " [" + backend.name + ", parent domain " + parent.id + "]";
    }
}

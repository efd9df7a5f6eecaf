package ioasid.core.iommu;

import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuGroup;

/** An IOMMU group (rule 43). Changed under the IOMMU mutex only. */
final class GroupImpl implements IommuGroup {
    final IommuState owner;
    final int id;
    final String backendName;
    final String key;
    final List<DeviceEntry> devices = new ArrayList<>();
    /** Null: no domain (a backend without default domains, or one that left). */
    DomainImpl domain;
    DomainImpl defaultDomain;
    DomainImpl blockingDomain;
    /** The sysfs type chosen for the default domain, or null for the platform default. */
    DomainType defaultType;
    Object dmaOwner;
    int ownerCount;
    /** PASID to attachment: the kernel's group->pasid_array. */
    final Map<Integer, PasidAttach> pasids = new LinkedHashMap<>();
    /** Its backend is away: all DMA blocked (D17). */
    boolean blocked;

    GroupImpl(IommuState owner, int id, String backendName, String key) {
        this.owner = owner;
        this.id = id;
        this.backendName = backendName;
        this.key = key;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public String backend() {
        return backendName;
    }

    @Override
    public List<String> devices() {
        return owner.deviceNames(this);
    }

    @Override
    public String toString() {
        return "IOMMU group " + id + " [" + backendName + "]";
    }
}

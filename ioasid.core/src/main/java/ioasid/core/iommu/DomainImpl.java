package ioasid.core.iommu;

import java.util.LinkedHashSet;
import java.util.Set;

import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.spi.BackendDomain;

/** A domain. Structure changes under the IOMMU mutex; {@link #live} is read anywhere. */
final class DomainImpl implements IommuDomain {
    enum Role {
        DEFAULT("default"),
        BLOCKING("blocking"),
        CALLER("caller"),
        SVA("sva"),
        PRIVATE("private");

        final String label;

        Role(String label) {
            this.label = label;
        }
    }

    final IommuState owner;
    final int id;
    final BackendEntry backend;
    final Role role;
    final boolean nestingParent;
    /** Mutable only for DMA to DMA_FQ in place (rule 42). */
    volatile DomainType type;
    /** Dropped when the domain dies, so nothing of a departed backend stays reachable. */
    volatile BackendDomain hw;
    volatile boolean live = true;
    /** Freed by its caller (domainFree), not lost with its backend: ENOENT, not ENODEV (D20). */
    volatile boolean freed;
    final Set<GroupImpl> groups = new LinkedHashSet<>();
    final Set<PasidAttach> pasids = new LinkedHashSet<>();
    int viommus;

    DomainImpl(IommuState owner, int id, BackendEntry backend, Role role, DomainType type,
            boolean nestingParent, BackendDomain hw) {
        this.owner = owner;
        this.id = id;
        this.backend = backend;
        this.role = role;
        this.type = type;
        this.nestingParent = nestingParent;
        this.hw = hw;
    }

    boolean inUse() {
        return !groups.isEmpty() || !pasids.isEmpty() || viommus > 0;
    }

    @Override
    public int id() {
        return id;
    }

    @Override
    public DomainType type() {
        return type;
    }

    @Override
    public String backend() {
        return backend.name;
    }

    @Override
    public long pgsizeBitmap() {
        BackendDomain h = hw;
        return h != null && type.isPaging() ? h.pgsizeBitmap() : 0;
    }

    @Override
    public boolean nestingParent() {
        return nestingParent;
    }

    @Override
    public boolean live() {
        return live;
    }

    @Override
    public String toString() {
        return "domain " + id + " [" + type + ", " + role.label + ", " + backend.name
                + (live ? "" : ", dead") + "]";
    }
}

package ioasid.backend.smmuv3.impl;

import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.IotlbGather;

/**
 * A domain of one SMMU (arm_smmu_domain). Stage-1 paging domains own an ASID and a stage-1 page
 * table; nesting parents are stage-2 domains with a VMID; SVA domains share a process's ASID and
 * page table; BLOCKED and IDENTITY domains only select abort or bypass STEs. Page-table calls
 * take the instance lock.
 */
final class Smmuv3Domain implements BackendDomain {
    enum Kind {
        BLOCKED,
        IDENTITY,
        S1,
        S2,
        SVA
    }

    /** A (master, SSID) pair whose CD or STE points at this domain. */
    record Attachment(Master master, int ssid) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in Smmuv3Backend
            return o instanceof Attachment a && Objects.equals(a.master, master) && a.ssid == ssid;
        }

        @Override
        public int hashCode() {
            return 31 * Objects.hashCode(master) + ssid;
        }

        @Override
        public String toString() {
            return "Attachment[master=" + master + ", ssid=" + ssid + "]";
        }
    }

    final Smmuv3Backend owner;
    final DomainType type;
    final Kind kind;
    final int id;
    /** Stage-1 ASID (S1, SVA); may change when SVA claims it (arm_smmu_share_asid). */
    int asid;
    int vmid;
    IoPgtable pgtable;
    SharedAsid shared;
    boolean freed;
    int viommus;
    final Set<Attachment> attachments = new LinkedHashSet<>();

    Smmuv3Domain(Smmuv3Backend owner, DomainType type, Kind kind, int id) {
        this.owner = owner;
        this.type = type;
        this.kind = kind;
        this.id = id;
    }

    boolean paging() {
        return kind == Kind.S1 || kind == Kind.S2;
    }

    @Override
    public DomainType type() {
        return type;
    }

    @Override
    public long pgsizeBitmap() {
        return paging() ? IoPgtable.PGSIZE_BITMAP : 0;
    }

    @Override
    public long apertureEnd() {
        return paging() ? (1L << pgtable.iasBits) - 1 : 0;
    }

    @Override
    public void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        owner.mapPages(this, iova, paddr, pgsize, count, prot);
    }

    @Override
    public long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
        return owner.unmapPages(this, iova, pgsize, count, gather);
    }

    @Override
    public long iovaToPhys(long iova) {
        switch (kind) {
            case IDENTITY:
                return iova; // rule 56
            case BLOCKED:
                return 0;
            case SVA:
                long pa = shared.mm.translate(iova, Access.READ); // outside any lock
                return pa < 0 ? 0 : pa;
            default:
                return owner.iovaToPhys(this, iova);
        }
    }

    @Override
    public void iotlbSync(IotlbGather gather) {
        owner.iotlbSync(this, gather);
    }

    @Override
    public void flushIotlbAll() {
        owner.flushIotlbAll(this);
    }

    @Override
    public void free() {
        owner.freeDomain(this);
    }

    @Override
    public String toString() {
        String tag = kind == Kind.S1 || kind == Kind.SVA ? " asid " + asid
                : kind == Kind.S2 ? " vmid " + vmid : "";
        return "smmuv3 domain " + id + " " + type.sysfsName() + tag;
    }
}

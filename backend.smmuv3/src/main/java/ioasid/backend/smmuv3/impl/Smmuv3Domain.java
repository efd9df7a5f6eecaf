package ioasid.backend.smmuv3.impl;

import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;
import java.util.concurrent.locks.ReentrantLock;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.IotlbGather;

/*
 * A domain of one SMMU (arm_smmu_domain). Stage-1 paging domains own an ASID and a stage-1 page
 * table; nesting parents are stage-2 domains with a VMID; SVA domains share a process's ASID and
 * page table; BLOCKED and IDENTITY domains only select abort or bypass STEs. A paging domain maps,
 * unmaps and walks its own page table, and asks the driver only for the TLB invalidations that
 * must follow.
 *
 * Rules (kernel-rules.md rules 56-58):
 *  1. iovaToPhys is the IOVA itself under IDENTITY and 0 under BLOCKED (rule 56); an SVA domain
 *     asks the process, outside any lock; a freed domain answers 0.
 *  2. Map on a domain without a page table, or a freed one, is EINVAL (rule 57); unmap on a
 *     domain without a page table unmaps nothing (rule 58).
 *  3. Unmap leaves leaf TLB entries to iotlbSync (rule 58); a table it frees is flushed from the
 *     walk caches at once (io_pgtable_tlb_flush_walk).
 *
 * Concurrency: the page table lives in the SMMU's table memory, which the hardware model walks
 * under the instance lock; page-table calls take that lock too (Smmuv3Driver.lock). The fields
 * below it guards are written by the driver.
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

    final Smmuv3Driver driver;
    private final ReentrantLock lock;
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
    /** io_pgtable_tlb_flush_walk: a table freed by unmap leaves the walk caches at once. */
    private final IoPgtable.FlushOps flushWalk;

    Smmuv3Domain(Smmuv3Driver driver, DomainType type, Kind kind, int id) {
        this.driver = driver;
        this.lock = driver.lock;
        this.type = type;
        this.kind = kind;
        this.id = id;
        this.flushWalk = (va, size, granule) -> driver.invalidateRange(this, va, size, granule,
                false);
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
        lock.lock();
        try {
            checkLivePaging();
            pgtable.map(iova, paddr, pgsize, count, prot);
        } finally {
            lock.unlock();
        }
    }

    private void checkLivePaging() {
        if (freed) {
            throw new IoasidException(Errno.EINVAL, this + " was freed");
        }
        if (!paging()) {
            throw new IoasidException(Errno.EINVAL, this + " has no page table (rule 57)");
        }
    }

    @Override
    public long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
        lock.lock();
        try {
            if (freed) {
                throw new IoasidException(Errno.EINVAL, this + " was freed");
            }
            if (!paging()) {
                return 0; // rule 58
            }
            return pgtable.unmap(iova, pgsize, count, gather, flushWalk);
        } finally {
            lock.unlock();
        }
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
                lock.lock();
                try {
                    return freed ? 0 : pgtable.iovaToPhys(iova);
                } finally {
                    lock.unlock();
                }
        }
    }

    @Override
    public void iotlbSync(IotlbGather gather) {
        lock.lock();
        try {
            if (freed || !paging() || gather == null || gather.isEmpty()) {
                return;
            }
            driver.invalidateRange(this, gather.start(), gather.end() - gather.start() + 1,
                    gather.pgsize(), true);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void flushIotlbAll() {
        lock.lock();
        try {
            if (freed || !paging()) {
                return;
            }
            driver.invalidateAll(this);
        } finally {
            lock.unlock();
        }
    }

    @Override
    public void free() {
        driver.freeDomain(this);
    }

    /** The domain, its attachment count and its page table, for state snapshots. */
    void describe(StringBuilder b) {
        b.append(this).append(" att=").append(attachments.size());
        if (pgtable != null) {
            pgtable.dump(b);
        }
    }

    @Override
    public String toString() {
        String tag = kind == Kind.S1 || kind == Kind.SVA ? " asid " + asid
                : kind == Kind.S2 ? " vmid " + vmid : "";
        return "smmuv3 domain " + id + " " + type.sysfsName() + tag;
    }
}

package ioasid.backend.vtd.impl;

import java.util.LinkedHashSet;
import java.util.Objects;
import java.util.Set;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.IotlbGather;

/**
 * A domain of one VT-d unit. Paging domains (UNMANAGED, DMA, DMA_FQ) own a second-level page
 * table and are installed with PGTT=2; IDENTITY is pass-through (PGTT=4); SVA domains stand for a
 * process page table, installed first-level (PGTT=1); BLOCKED has no DID and tears entries down.
 *
 * <p>Page-table calls take this domain's lock only; flushes take the unit's lock only, so the two
 * never nest the other way round.
 */
final class VtdDomain implements BackendDomain {
    /** One place the domain is installed: a device's PASID entry (0 for RID_PASID / legacy). */
    record Attach(String device, int rid, int pasid) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VtdBackend
            return o instanceof Attach a && Objects.equals(a.device, device) && a.rid == rid
                    && a.pasid == pasid;
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Objects.hashCode(device) + rid) + pasid;
        }

        @Override
        public String toString() {
            return "Attach[device=" + device + ", rid=" + rid + ", pasid=" + pasid + "]";
        }
    }

    private final VtdDriver driver;
    private final DomainType type;
    private final int did;
    private final boolean nestingParent;
    private final SlPageTable table;
    private final ProcessAddressSpace mm;
    /** The address standing for the process's page-table root (FLPTPTR). */
    private final long flptptr;
    private final Object tableLock = new Object();
    private volatile boolean freed;
    /** Guarded by the unit's lock. */
    final Set<Attach> attachments = new LinkedHashSet<>();

    VtdDomain(VtdDriver driver, DomainType type, int did, boolean nestingParent, SlPageTable table,
            ProcessAddressSpace mm, long flptptr) {
        this.driver = driver;
        this.type = type;
        this.did = did;
        this.nestingParent = nestingParent;
        this.table = table;
        this.mm = mm;
        this.flptptr = flptptr;
    }

    VtdDriver driver() {
        return driver;
    }

    /** The domain ID, 0 for BLOCKED (which never reaches a table entry). */
    int did() {
        return did;
    }

    boolean nestingParent() {
        return nestingParent;
    }

    SlPageTable table() {
        return table;
    }

    ProcessAddressSpace mm() {
        return mm;
    }

    long flptptr() {
        return flptptr;
    }

    boolean freed() {
        return freed;
    }

    void markFreed() {
        freed = true;
    }

    @Override
    public DomainType type() {
        return type;
    }

    @Override
    public long pgsizeBitmap() {
        return type.isPaging() ? driver.pgsizeBitmap() : 0;
    }

    @Override
    public long apertureEnd() {
        return type.isPaging() ? (1L << VtdParams.ADDRESS_BITS) - 1 : 0;
    }

    private void checkPaging(String what) {
        if (freed) {
            throw new IoasidException(Errno.ENODEV, what + " on freed domain " + this);
        }
        if (!type.isPaging()) {
            throw new IoasidException(Errno.EINVAL, what + " on " + type + " domain " + this);
        }
    }

    @Override
    public void mapPages(long iova, long paddr, long pgsize, long count, int prot) {
        checkPaging("map");
        if (Long.bitCount(pgsize) != 1 || (pgsize & pgsizeBitmap()) == 0) {
            throw new IoasidException(Errno.EINVAL, "page size 0x" + Long.toHexString(pgsize)
                    + " not in 0x" + Long.toHexString(pgsizeBitmap()));
        }
        if (count < 1 || ((iova | paddr) & (pgsize - 1)) != 0) {
            throw new IoasidException(Errno.EINVAL, "map of " + count + " pages at 0x"
                    + Long.toHexString(iova) + " -> 0x" + Long.toHexString(paddr)
                    + " not aligned to 0x" + Long.toHexString(pgsize));
        }
        if ((prot & (Prot.READ | Prot.WRITE)) == 0) {
            throw new IoasidException(Errno.EINVAL, "map without read or write permission");
        }
        long size = pgsize * count;
        if (size / count != pgsize || iova < 0 || Long.compareUnsigned(iova + size - 1,
                apertureEnd()) > 0 || Long.compareUnsigned(iova + size - 1, iova) < 0) {
            // __domain_mapping: the address is beyond what the table's width can hold
            throw new IoasidException(Errno.EFAULT, "IOVA range 0x" + Long.toHexString(iova)
                    + "+0x" + Long.toHexString(size) + " beyond the 48-bit address width");
        }
        if (paddr < 0 || Long.compareUnsigned(paddr + size - 1, SlPageTable.ADDR_MASK | 0xfff) > 0) {
            throw new IoasidException(Errno.EINVAL, "physical range 0x" + Long.toHexString(paddr)
                    + "+0x" + Long.toHexString(size) + " beyond the 52-bit address field");
        }
        long bits = ((prot & Prot.READ) != 0 ? SlPageTable.R : 0)
                | ((prot & Prot.WRITE) != 0 ? SlPageTable.W : 0);
        synchronized (tableLock) {
            table.map(iova, paddr, pgsize, count, bits);
        }
    }

    @Override
    public long unmapPages(long iova, long pgsize, long count, IotlbGather gather) {
        checkPaging("unmap");
        if (Long.bitCount(pgsize) != 1 || (pgsize & pgsizeBitmap()) == 0 || count < 1
                || (iova & (pgsize - 1)) != 0) {
            return 0;
        }
        synchronized (tableLock) {
            return table.unmap(iova, pgsize, count, gather);
        }
    }

    @Override
    public long iovaToPhys(long iova) {
        if (freed) {
            return 0;
        }
        if (type == DomainType.IDENTITY) {
            return iova;
        }
        if (!type.isPaging()) {
            return 0;
        }
        SlPageTable.Leaf leaf = table.walk(iova);
        return leaf == null ? 0 : leaf.phys(iova);
    }

    @Override
    public void iotlbSyncMap(long iova, long size) {
        if (type.isPaging() && !freed) {
            driver.syncMap(this, iova, size);
        }
    }

    @Override
    public void iotlbSync(IotlbGather gather) {
        if (gather == null || gather.isEmpty() || freed) {
            return;
        }
        driver.flushRange(this, gather.start(), gather.end());
        gather.reset();
    }

    @Override
    public void flushIotlbAll() {
        if (!freed) {
            driver.flushAll(this);
        }
    }

    @Override
    public void free() {
        driver.freeDomain(this);
    }

    @Override
    public String toString() {
        return type.sysfsName() + (did != 0 ? " did " + did : "") + " of " + driver.name()
                + (freed ? " (freed)" : "");
    }
}

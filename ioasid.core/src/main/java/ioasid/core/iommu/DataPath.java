package ioasid.core.iommu;

import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENODEV;
import static ioasid.core.iommu.IommuState.err;

import java.util.concurrent.locks.Lock;

import ioasid.api.Ioasid;
import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.IommuDomain;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.Translation;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.IotlbGather;
import ioasid.api.iommu.spi.Walk;

/*
 * The calls that reach a backend's hardware without the mutex: page-table operations (the
 * kernel's iommu_map, iommu_unmap, iommu_iova_to_phys) and translation probes. They are the hot
 * path: any thread, concurrently with each other and with configuration.
 *
 * Rules:
 *  1. Page-table calls and translation probes take no mutex, only the backend's read lock, which
 *     keeps a dying backend's objects out of reach: a domain its caller freed answers ENOENT,
 *     one whose backend left ENODEV (D20).
 *  2. map: paging only, aligned to the smallest page, largest page per chunk, undone on failure
 *     (rule 57).
 *  3. unmap: bytes unmapped, stopping at the first hole; 0 when misaligned or not paging; unmap
 *     syncs the IOTLB, unmapFast only gathers (rule 58).
 *  4. iovaToPhys is the IOVA itself on an identity domain and 0 on a non-paging one (rule 56).
 *  5. A probe answers what the hardware does with one DMA now, so a switch can be seen to reach
 *     only the old or the new domain (D18); a group whose backend left faults (D17).
 */
final class DataPath {
    private final IommuState state;

    DataPath(IommuState state) {
        this.state = state;
    }

    /** Runs a page-table call with the domain's backend kept alive; ENOENT/ENODEV for a dead one. */
    private <T> T onHardware(DomainImpl d, java.util.function.Function<BackendDomain, T> call) {
        Lock r = d.backend.dataPath.readLock();
        r.lock();
        try {
            BackendDomain hw = d.hw;
            if (!d.live || hw == null) {
                throw IommuState.gone(d); // an error path: the hot path reads nothing more
            }
            return call.apply(hw);
        } finally {
            r.unlock();
        }
    }

    void map(IommuDomain domain, long iova, long paddr, long size, int prot) {
        DomainImpl d = state.own(domain);
        onHardware(d, hw -> {
            doMap(d, hw, iova, paddr, size, prot);
            return null;
        });
        d.backend.ops.maps.increment(); // BackendOps rule 1
    }

    /** Rule 57: paging only, aligned to the smallest page, largest page per chunk, undone on failure. */
    private void doMap(DomainImpl d, BackendDomain hw, long iova, long paddr, long size, int prot) {
        if (!d.type.isPaging()) {
            throw err(EINVAL, d + " is not a paging domain");
        }
        if ((prot & ~Prot.ALL) != 0) {
            throw err(EINVAL, "unknown protection flags 0x" + Integer.toHexString(prot));
        }
        long bitmap = hw.pgsizeBitmap();
        if (bitmap == 0) {
            throw err(ENODEV, d + " has no page sizes");
        }
        long min = Long.lowestOneBit(bitmap);
        if (size <= 0 || iova < 0 || paddr < 0 || ((iova | paddr | size) & (min - 1)) != 0) {
            throw err(EINVAL, "iova 0x" + Long.toHexString(iova) + ", paddr 0x"
                    + Long.toHexString(paddr) + " and size 0x" + Long.toHexString(size)
                    + " must be positive multiples of 0x" + Long.toHexString(min));
        }
        long last = iova + size - 1;
        // the aperture end is unsigned: a 64-bit input range ends at -1
        if (last < iova || Long.compareUnsigned(last, hw.apertureEnd()) > 0
                || paddr + size - 1 < paddr) {
            throw err(EINVAL, "[0x" + Long.toHexString(iova) + ", +0x" + Long.toHexString(size)
                    + ") overflows or passes the aperture end 0x"
                    + Long.toHexString(hw.apertureEnd()));
        }
        long mapped = 0;
        while (mapped < size) {
            long[] pc = PageSizes.next(bitmap, iova + mapped, paddr + mapped, size - mapped);
            try {
                hw.mapPages(iova + mapped, paddr + mapped, pc[0], pc[1], prot);
            } catch (RuntimeException e) {
                d.backend.faults.passed(e);
                if (mapped > 0) {
                    IotlbGather undo = new IotlbGather();
                    doUnmap(d, hw, iova, mapped, undo);
                    hw.iotlbSync(undo);
                }
                throw e;
            }
            mapped += pc[0] * pc[1];
        }
        hw.iotlbSyncMap(iova, size);
    }

    /** Rule 58: bytes unmapped, stopping at the first hole; 0 when misaligned or not paging. */
    private long doUnmap(DomainImpl d, BackendDomain hw, long iova, long size, IotlbGather gather) {
        if (!d.type.isPaging()) {
            return 0;
        }
        long bitmap = hw.pgsizeBitmap();
        long min = Long.lowestOneBit(bitmap);
        if (bitmap == 0 || size <= 0 || iova < 0 || ((iova | size) & (min - 1)) != 0
                || iova + size - 1 < iova) {
            return 0;
        }
        long unmapped = 0;
        while (unmapped < size) {
            long[] pc = PageSizes.next(bitmap, iova + unmapped, 0, size - unmapped);
            long n = hw.unmapPages(iova + unmapped, pc[0], pc[1], gather);
            if (n == 0) {
                break;
            }
            unmapped += n;
        }
        return unmapped;
    }

    long unmap(IommuDomain domain, long iova, long size) {
        DomainImpl d = state.own(domain);
        long n = onHardware(d, hw -> {
            IotlbGather gather = new IotlbGather();
            long u = doUnmap(d, hw, iova, size, gather);
            if (!gather.isEmpty()) {
                hw.iotlbSync(gather);
            }
            return u;
        });
        d.backend.ops.unmaps.increment(); // BackendOps rule 1
        return n;
    }

    long unmapFast(IommuDomain domain, long iova, long size, IotlbGather gather) {
        DomainImpl d = state.own(domain);
        if (gather == null) {
            throw err(EINVAL, "unmap_fast needs a gather to sync later");
        }
        long n = onHardware(d, hw -> doUnmap(d, hw, iova, size, gather));
        d.backend.ops.unmaps.increment(); // BackendOps rule 1
        return n;
    }

    void iotlbSync(IommuDomain domain, IotlbGather gather) {
        DomainImpl d = state.own(domain);
        if (gather == null) {
            throw err(EINVAL, "null gather");
        }
        onHardware(d, hw -> {
            if (!gather.isEmpty()) {
                hw.iotlbSync(gather);
                gather.reset();
            }
            return null;
        });
    }

    void flushIotlbAll(IommuDomain domain) {
        DomainImpl d = state.own(domain);
        onHardware(d, hw -> {
            hw.flushIotlbAll();
            return null;
        });
    }

    long iovaToPhys(IommuDomain domain, long iova) {
        DomainImpl d = state.own(domain);
        return onHardware(d, hw -> {
            DomainType t = d.type;
            if (t == DomainType.IDENTITY) {
                return iova; // rule 56
            }
            if (!t.isPaging()) {
                return 0L;
            }
            return hw.iovaToPhys(iova);
        });
    }

    Translation translate(String device, int pasid, long iova, Access access) {
        if (pasid < 0 || pasid > Ioasid.MAX_ID || access == null) {
            // checked here so that every backend answers a PASID past 20 bits alike
            throw err(EINVAL, "PASID " + pasid + " (20 bits) and access " + access);
        }
        DeviceEntry d = state.device(device);
        BackendEntry be = d.backend;
        if (be == null) {
            return blockedProbe();
        }
        Lock r = be.dataPath.readLock();
        r.lock();
        try {
            if (be.gone || d.backend != be) {
                return blockedProbe(); // D17: no DMA reaches any domain
            }
            Walk w;
            try {
                w = be.backend.translate(device, pasid, iova, access);
            } catch (RuntimeException e) {
                throw be.faults.passed(e);
            }
            if (w.outcome() == Translation.Outcome.FAULT) {
                be.faults.translation(); // the hardware would report it (BackendFaults rule 1)
            }
            DomainImpl dom = w.domain() == null ? null : state.byHw.get(w.domain());
            long pa = w.outcome() == Translation.Outcome.BYPASS ? iova : w.physAddr();
            return new Translation(w.outcome(), pa, w.fault(), dom == null ? -1 : dom.id,
                    dom == null ? null : dom.type);
        } finally {
            r.unlock();
        }
    }

    private static Translation blockedProbe() {
        return new Translation(Translation.Outcome.FAULT, -1, "NO_IOMMU", -1, null);
    }
}

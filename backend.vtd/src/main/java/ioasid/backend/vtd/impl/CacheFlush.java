package ioasid.backend.vtd.impl;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;

import ioasid.api.iommu.DomainType;

/*
 * The driver's cache maintenance on one unit: CPU cache-line flushes of table writes, write-buffer
 * flushes, and the queued invalidations a change of the tables needs (intel-iommu's
 * iommu_flush_write_buffer, clflush_cache_range, devtlb_invalidation_with_pasid and the
 * cache_tag_flush_* family). Its callers hold the driver's lock.
 *
 * Rules:
 *  1. A table write is clflushed only when the unit's walks do not snoop (no ECAP.C); the write
 *     buffer is flushed only with CAP.RWBF.
 *  2. Device-TLBs (ATS) are invalidated only when the unit has ECAP.DT: the PASID-tagged form for
 *     a PASID, the plain form for RID_PASID (0) (rule 96, step 7).
 *  3. An unmap's flush is one batch: a page-selective IOTLB invalidation of the aligned range
 *     (domain-selective when its mask exceeds CAP.MAMV), then each installed place's device-TLB.
 *  4. After a map, caching mode flushes the range (a vIOMMU may cache non-present entries);
 *     otherwise only the write buffer is flushed.
 *  5. A full flush is PASID-based per PASID for an SVA domain, domain-selective otherwise, then
 *     every device-TLB; a BLOCKED domain has nothing cached.
 */
final class CacheFlush {
    /** ATS invalidate queue depth the devices report (0 means 32). */
    static final int ATS_QDEP = 0;

    private final DmarUnit unit;

    CacheFlush(DmarUnit unit) {
        this.unit = unit;
    }

    /** One descriptor, submitted and waited for. */
    void submit(Command c) {
        unit.queue.submit(List.of(c));
    }

    void writeBuffer() {
        if (unit.rwbf()) {
            unit.queue.note(Command.writeBufferFlush()); // a no-op without CAP.RWBF
        }
    }

    void clflush(long pa, int bytes, int what) {
        if (!unit.coherent()) {
            unit.queue.note(Command.clflush(pa, bytes, what));
        }
    }

    /** Notes an already built CLFLUSH when the unit is not coherent. */
    void clflush(Command c) {
        if (!unit.coherent()) {
            unit.queue.note(c);
        }
    }

    /** devtlb_invalidation_with_pasid: only for devices with ATS enabled. */
    void devTlb(int rid, int pasid) {
        if (!unit.devTlb()) {
            return;
        }
        if (pasid == 0) {
            submit(Command.devTlb(rid, rid, ATS_QDEP, 0, Command.DEVTLB_ALL));
        } else {
            submit(Command.pasidDevTlb(rid, rid, pasid, ATS_QDEP, 0, Command.DEVTLB_ALL));
        }
    }

    /** Page-selective address and mask covering [start, end] (calculate_psi_aligned_address). */
    static long[] psi(long start, long end) {
        long startPfn = start >>> PhysMem.PAGE_SHIFT;
        long endPfn = end >>> PhysMem.PAGE_SHIFT;
        long pages = endPfn - startPfn + 1;
        int mask = pages <= 1 ? 0 : 64 - Long.numberOfLeadingZeros(pages - 1);
        while (mask < 52 && (startPfn >>> mask) != (endPfn >>> mask)) {
            mask++;
        }
        return new long[] {(startPfn >>> mask) << mask << PhysMem.PAGE_SHIFT, mask};
    }

    /** The unmap flush of an installed paging domain (cache_tag_flush_range), one batch. */
    void range(VtdDomain dom, long start, long end) {
        long[] psi = psi(start, end);
        long addr = psi[0];
        int mask = (int) psi[1];
        List<Command> batch = new ArrayList<>();
        batch.add(iotlbFor(dom, addr, mask));
        if (unit.devTlb()) {
            for (VtdDomain.Attach a : dom.attachments) {
                batch.add(a.pasid() == 0 ? Command.devTlb(a.rid(), a.rid(), ATS_QDEP, addr, mask)
                        : Command.pasidDevTlb(a.rid(), a.rid(), a.pasid(), ATS_QDEP, addr, mask));
            }
        }
        unit.queue.submit(batch);
    }

    private Command iotlbFor(VtdDomain dom, long addr, int mask) {
        // fall back to domain-selective when the range is beyond CAP.MAMV
        return mask > unit.mamv() ? Command.iotlbDomain(dom.did())
                : Command.iotlbPage(dom.did(), addr, mask, false);
    }

    /** After a map of an installed domain: caching mode caches misses, so flush them. */
    void afterMap(VtdDomain dom, long iova, long size) {
        if (unit.cachingMode()) {
            long[] psi = psi(iova, iova + size - 1);
            unit.queue.submit(List.of(iotlbFor(dom, psi[0], (int) psi[1])));
        } else {
            writeBuffer();
        }
    }

    /** Everything an installed domain may have cached: its DID (or PASIDs), the device TLBs. */
    void all(VtdDomain dom) {
        if (dom.type() == DomainType.BLOCKED) {
            return;
        }
        List<Command> batch = new ArrayList<>();
        if (dom.type() == DomainType.SVA) {
            new TreeSet<>(dom.attachments.stream().map(VtdDomain.Attach::pasid).toList())
                    .forEach(p -> batch.add(Command.pasidIotlb(dom.did(), p)));
        } else {
            batch.add(Command.iotlbDomain(dom.did()));
        }
        if (unit.devTlb()) {
            for (VtdDomain.Attach a : dom.attachments) {
                batch.add(a.pasid() == 0
                        ? Command.devTlb(a.rid(), a.rid(), ATS_QDEP, 0, Command.DEVTLB_ALL)
                        : Command.pasidDevTlb(a.rid(), a.rid(), a.pasid(), ATS_QDEP, 0,
                                Command.DEVTLB_ALL));
            }
        }
        unit.queue.submit(batch);
    }
}

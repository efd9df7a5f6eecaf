package ioasid.core.iommufd;

import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.EOVERFLOW;
import static ioasid.core.iommufd.Iova.ULONG_MAX;
import static ioasid.core.iommufd.Iova.err;
import static ioasid.core.iommufd.Iova.hex;

import java.util.ArrayList;
import java.util.List;

import ioasid.api.IoasidException;
import ioasid.api.iommu.IommuService;
import ioasid.api.iommu.Prot;
import ioasid.api.iommufd.IommufdObjectDTO;
import ioasid.api.iommufd.ObjectType;
import ioasid.core.iommufd.IoPageTable.Area;
import ioasid.core.iommufd.IoPageTable.Pages;

/*
 * An IOAS: its IOVA bookkeeping (IoPageTable) and the HWPTs that follow it, kept in step through
 * IommuService's map and unmap.
 *
 * Rules:
 *  1. A map lands in every HWPT or in none: a HWPT that refuses it (its aperture, its memory)
 *     makes the map fail with that HWPT's errno, after the HWPTs already mapped are unmapped and
 *     the area removed (rule 121, D30).
 *  2. Unmap removes the areas from the IOAS and from every HWPT; (0, 2^64-1) is unmap-all and
 *     succeeds on an empty IOAS (rule 123).
 *  3. A copy maps the same physical pages again at a new IOVA, one area per source area, all or
 *     nothing (rule 126).
 *  4. A new HWPT is filled with every area before it joins, and raises the alignment only once
 *     filled; a failure leaves the IOAS as it was. A HWPT that leaves is emptied and the
 *     alignment recomputed from the HWPTs that stay (rules 125, 127).
 *  5. It is in use while any HWPT follows it (rule 127).
 *  6. HWPTs whose hardware left are skipped (D33).
 */
final class Ioas extends IommufdObject {
    private static final System.Logger LOG = System.getLogger("ioasid.iommufd");

    private final IommuService iommu;
    final IoPageTable table = new IoPageTable();
    private final List<Hwpt> hwpts = new ArrayList<>();

    Ioas(IommuService iommu) {
        this.iommu = iommu;
    }

    @Override
    ObjectType type() {
        return ObjectType.IOAS;
    }

    /** Rule 5. */
    @Override
    int users() {
        return hwpts.size();
    }

    /** The HWPTs that follow it, oldest first. */
    List<Hwpt> hwpts() {
        return List.copyOf(hwpts);
    }

    /** Rule 1: the table places and records the area, then every HWPT maps it. */
    long map(boolean fixed, long iova, long paddr, long length, int prot) {
        Iova.last(paddr, length); // the physical range must not wrap either
        long at = table.place(fixed, iova, paddr, length);
        Area a = table.insert(at, paddr, length, prot, (prot & Prot.WRITE) != 0);
        try {
            fill(a);
        } catch (RuntimeException e) {
            table.remove(a);
            throw e;
        }
        return at;
    }

    /** Rule 3: {@code pages} come from a source IOAS, which may be this one. */
    long copy(List<Pages> pages, boolean fixed, long iova, long length, int prot) {
        long at = table.place(fixed, iova, pages.get(0).paddr, length);
        List<Area> inserted = new ArrayList<>();
        List<Area> filled = new ArrayList<>();
        try {
            long cur = at;
            for (Pages p : pages) {
                Area a = table.insert(cur, p.paddr, p.length, prot, p.writable);
                inserted.add(a);
                fill(a);
                filled.add(a);
                cur += p.length;
            }
        } catch (RuntimeException e) {
            filled.forEach(this::unfill);
            inserted.forEach(table::remove);
            throw e;
        }
        return at;
    }

    /** Rule 2. */
    long unmap(long iova, long length) {
        List<Area> gone;
        if (iova == 0 && length == ULONG_MAX) {
            gone = new ArrayList<>(table.areas());
            gone.forEach(table::remove);
        } else {
            if (iova == ULONG_MAX || length == ULONG_MAX) {
                throw err(EOVERFLOW, "IOVA " + hex(iova) + " or length " + hex(length)
                        + " is 2^64-1");
            }
            if (length == 0) {
                throw err(EINVAL, "an unmap of 0 bytes");
            }
            gone = table.unmap(iova, Iova.last(iova, length));
        }
        long bytes = 0;
        for (Area a : gone) {
            unfill(a);
            bytes += a.length;
        }
        return bytes;
    }

    /** Rule 1: maps one area into every live HWPT, or into none. */
    private void fill(Area a) {
        List<Hwpt> done = new ArrayList<>();
        try {
            for (Hwpt h : hwpts) {
                if (h.live()) {
                    iommu.map(h.domain, a.iova, a.paddr, a.length, a.prot);
                    done.add(h);
                }
            }
        } catch (RuntimeException e) {
            for (Hwpt h : done) {
                unmapFrom(h, a);
            }
            throw e;
        }
    }

    private void unfill(Area a) {
        for (Hwpt h : hwpts) {
            unmapFrom(h, a);
        }
    }

    private void unmapFrom(Hwpt h, Area a) {
        if (!h.live()) {
            return;
        }
        try {
            iommu.unmap(h.domain, a.iova, a.length);
        } catch (IoasidException e) {
            // only a domain that died meanwhile refuses an unmap; it maps nothing any more (D33)
            LOG.log(System.Logger.Level.DEBUG, "unmap of " + a + " from " + h + ": " + e);
        }
    }

    /** Rule 4: iopt_table_add_domain. */
    void add(Hwpt h) {
        long align = table.alignmentWith(h.domain.pgsizeBitmap());
        List<Area> done = new ArrayList<>();
        try {
            for (Area a : table.areas()) {
                iommu.map(h.domain, a.iova, a.paddr, a.length, a.prot);
                done.add(a);
            }
        } catch (RuntimeException e) {
            for (Area a : done) {
                unmapFrom(h, a);
            }
            throw e;
        }
        table.alignment(align);
        hwpts.add(h);
    }

    /** Rule 4: iopt_table_remove_domain. */
    void remove(Hwpt h) {
        if (!hwpts.remove(h)) {
            return;
        }
        for (Area a : table.areas()) {
            unmapFrom(h, a);
        }
        long align = 1;
        for (Hwpt other : hwpts) {
            align = Iova.max(align, Long.lowestOneBit(other.domain.pgsizeBitmap()));
        }
        table.alignment(align);
    }

    @Override
    IommufdObjectDTO dto() {
        IommufdObjectDTO d = super.dto();
        d.ioasId = id();
        return d;
    }
}

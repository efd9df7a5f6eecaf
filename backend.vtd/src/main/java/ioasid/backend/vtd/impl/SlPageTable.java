package ioasid.backend.vtd.impl;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.spi.IotlbGather;

/**
 * A second-level page table in the x86 4-level format: 512 8-byte entries per 4 KiB table, R
 * (bit 0), W (bit 1), PS (bit 7) for 2 MiB and 1 GiB leaves at levels 2 and 3, the next table or
 * the page at bits 51:12. An entry is present when R or W is set ({@code dma_pte_present}).
 * Interior entries carry R and W, as intel-iommu writes them.
 *
 * <p>Changes are made by one thread at a time (the owning domain's lock); {@link #walk} reads the
 * raw entries without a lock, as the unit does.
 */
final class SlPageTable {
    static final long R = 1L;
    static final long W = 1L << 1;
    static final long PS = 1L << 7;
    static final long ADDR_MASK = 0x000f_ffff_ffff_f000L;
    static final int LEVELS = 4;
    static final int ENTRIES = 512;

    /** A leaf the walk found: its raw entry and its level (1 = 4 KiB, 2 = 2 MiB, 3 = 1 GiB). */
    record Leaf(long pte, int level) {
        long size() {
            return 1L << shift(level);
        }

        long base() {
            return pte & ADDR_MASK & ~(size() - 1);
        }

        long phys(long iova) {
            return base() + (iova & (size() - 1));
        }

        boolean readable() {
            return (pte & R) != 0;
        }

        boolean writable() {
            return (pte & W) != 0;
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VtdBackend
            return o instanceof Leaf l && l.pte == pte && l.level == level;
        }

        @Override
        public int hashCode() {
            return 31 * Long.hashCode(pte) + level;
        }

        @Override
        public String toString() {
            return "Leaf[pte=" + pte + ", level=" + level + "]";
        }
    }

    private final PhysMem mem;
    private final long rootPa;

    SlPageTable(PhysMem mem) {
        this.mem = mem;
        this.rootPa = mem.alloc(1);
    }

    long root() {
        return rootPa;
    }

    static int shift(int level) {
        return PhysMem.PAGE_SHIFT + 9 * (level - 1);
    }

    static int index(long iova, int level) {
        return (int) (iova >>> shift(level)) & (ENTRIES - 1);
    }

    static boolean present(long pte) {
        return (pte & (R | W)) != 0;
    }

    /** The level whose leaves have this size, or -1. */
    static int levelFor(long pgsize) {
        for (int level = 1; level <= 3; level++) {
            if (pgsize == 1L << shift(level)) {
                return level;
            }
        }
        return -1;
    }

    // ------------------------------------------------------------------ the unit's walk

    /** Walks a table from its root address; null when nothing maps {@code iova}. */
    static Leaf walk(PhysMem mem, long rootPa, long iova) {
        long[] table = mem.table(rootPa);
        for (int level = LEVELS; level >= 1; level--) {
            if (table == null) {
                return null; // a pointer to a page that is gone: not present
            }
            long pte = PhysMem.read(table, index(iova, level));
            if (!present(pte)) {
                return null;
            }
            if (level == 1 || (pte & PS) != 0) {
                return new Leaf(pte, level);
            }
            table = mem.table(pte & ADDR_MASK);
        }
        return null;
    }

    Leaf walk(long iova) {
        return walk(mem, rootPa, iova);
    }

    // ------------------------------------------------------------------ changes

    /**
     * Maps {@code count} pages; checks every target first so a conflict leaves nothing of the
     * call mapped.
     *
     * @throws IoasidException EEXIST when a page, a covering superpage or a mapping below a
     *     requested superpage exists
     */
    void map(long iova, long paddr, long pgsize, long count, long bits) {
        int level = levelFor(pgsize);
        for (long i = 0; i < count; i++) {
            long va = iova + i * pgsize;
            if (conflict(va, level)) {
                throw new IoasidException(Errno.EEXIST, "IOVA 0x" + Long.toHexString(va)
                        + " is mapped already");
            }
        }
        for (long i = 0; i < count; i++) {
            install(iova + i * pgsize, paddr + i * pgsize, level, bits);
        }
    }

    private boolean conflict(long va, int target) {
        long[] table = mem.table(rootPa);
        for (int level = LEVELS; level > target; level--) {
            long pte = PhysMem.read(table, index(va, level));
            if (!present(pte)) {
                return false;
            }
            if ((pte & PS) != 0) {
                return true; // a superpage covers it
            }
            table = mem.table(pte & ADDR_MASK);
        }
        long pte = PhysMem.read(table, index(va, target));
        if (!present(pte)) {
            return false;
        }
        if (target == 1 || (pte & PS) != 0) {
            return true;
        }
        return hasLeaf(pte & ADDR_MASK, target - 1); // a table below: only empty ones give way
    }

    private boolean hasLeaf(long tablePa, int level) {
        long[] t = mem.table(tablePa);
        for (int i = 0; i < ENTRIES; i++) {
            long pte = PhysMem.read(t, i);
            if (present(pte)) {
                if (level == 1 || (pte & PS) != 0 || hasLeaf(pte & ADDR_MASK, level - 1)) {
                    return true;
                }
            }
        }
        return false;
    }

    private void install(long va, long pa, int target, long bits) {
        long[] table = mem.table(rootPa);
        for (int level = LEVELS; level > target; level--) {
            int idx = index(va, level);
            long pte = PhysMem.read(table, idx);
            if (!present(pte)) {
                long next = mem.alloc(1);
                pte = next | R | W;
                PhysMem.write(table, idx, pte);
            }
            table = mem.table(pte & ADDR_MASK);
        }
        int idx = index(va, target);
        long old = PhysMem.read(table, idx);
        long leaf = (pa & ADDR_MASK) | bits | (target > 1 ? PS : 0);
        PhysMem.write(table, idx, leaf);
        if (present(old)) {
            freeTree(old & ADDR_MASK, target - 1); // the empty tables a superpage replaced
        }
    }

    /**
     * Unmaps from {@code iova}, stopping at the first hole. A superpage met on the way is
     * unmapped whole ("horrid API" of intel_iommu_unmap) and counted with its size.
     *
     * @return bytes unmapped
     */
    long unmap(long iova, long pgsize, long count, IotlbGather gather) {
        long end = iova + pgsize * count;
        long cur = iova;
        long unmapped = 0;
        while (Long.compareUnsigned(cur, end) < 0) {
            long[] table = mem.table(rootPa);
            long[] leafTable = null;
            int leafIdx = -1;
            int leafLevel = -1;
            for (int level = LEVELS; level >= 1; level--) {
                int idx = index(cur, level);
                long pte = PhysMem.read(table, idx);
                if (!present(pte)) {
                    break;
                }
                if (level == 1 || (pte & PS) != 0) {
                    leafTable = table;
                    leafIdx = idx;
                    leafLevel = level;
                    break;
                }
                table = mem.table(pte & ADDR_MASK);
            }
            if (leafTable == null) {
                break; // a hole
            }
            long size = 1L << shift(leafLevel);
            long base = cur & ~(size - 1);
            PhysMem.write(leafTable, leafIdx, 0);
            if (gather != null) {
                gather.add(base, size, size);
            }
            unmapped += size;
            cur = base + size;
        }
        return unmapped;
    }

    /** Frees every table page. */
    void release() {
        freeTree(rootPa, LEVELS);
    }

    private void freeTree(long tablePa, int level) {
        long[] t = mem.table(tablePa);
        if (t == null) {
            return;
        }
        if (level > 1) {
            for (int i = 0; i < ENTRIES; i++) {
                long pte = PhysMem.read(t, i);
                if (present(pte) && (pte & PS) == 0) {
                    freeTree(pte & ADDR_MASK, level - 1);
                }
            }
        }
        mem.free(tablePa);
    }

    /** The raw entry at one level of the walk for {@code iova}, 0 when the walk stops above it. */
    long rawEntry(long iova, int level) {
        long[] table = mem.table(rootPa);
        for (int l = LEVELS; l > level; l--) {
            long pte = PhysMem.read(table, index(iova, l));
            if (!present(pte) || (pte & PS) != 0) {
                return 0;
            }
            table = mem.table(pte & ADDR_MASK);
        }
        return PhysMem.read(table, index(iova, level));
    }
}

package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Bits.hex;
import static ioasid.backend.smmuv3.impl.Bits.mask;

import java.util.ArrayList;
import java.util.List;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.iommu.Prot;
import ioasid.api.iommu.spi.IotlbGather;

/*
 * An ARMv8-A VMSAv8-64 translation table with the 4 KiB granule, as io-pgtable-arm builds it for
 * the SMMU: stage 1 (a CD's TTB0) or stage 2 (an STE's S2TTB). Tables are 512 8-byte descriptors
 * (the start level may be smaller), held in PhysMem at fake physical addresses:
 *
 *   levels 0-2: table descriptor  = next-level table PA (bits 47:12) | 0b11
 *   levels 1-2: block descriptor  = OA (bits 47:12) | attributes | 0b01   (1 GiB, 2 MiB)
 *   level 3:    page descriptor   = OA (bits 47:12) | attributes | 0b11   (4 KiB)
 *   attributes: AttrIndx 4:2 (S1) / MemAttr 5:2 (S2), AP 7:6 (S1: bit 7 read-only, bit 6
 *   unprivileged) / S2AP 7:6 (bit 6 read, bit 7 write), SH 9:8, AF 10, nG 11 (S1), XN 54:53
 *
 * Rules kept from io-pgtable-arm:
 *  1. Mapping over a valid leaf, or a block over a table that still maps something, is EEXIST,
 *     and a failed map call leaves nothing of itself behind (the core would unmap it; here the
 *     whole call is undone, including tables it allocated).
 *  2. Unmapping part of a block splits the block into a next-level table first
 *     (arm_lpae_split_blk_unmap, io-pgtable-arm before v6.12); unmapping a table entry at a larger
 *     size frees the whole subtree and flushes the walk at once (io_pgtable_tlb_flush_walk).
 *  3. Unmap stops at the first hole and returns the bytes it unmapped.
 *  4. Tables emptied by unmap are kept (io-pgtable-arm never frees them on unmap); a block may
 *     later replace an empty one.
 *
 * Callers hold the instance lock (Smmuv3Driver.lock): the tables live in PhysMem.
 */
final class IoPgtable {
    enum Stage {
        S1,
        S2
    }

    /** What unmap needs from the domain: the synchronous walk-cache flush. */
    interface FlushOps {
        void flushWalk(long iova, long size, long granule);
    }

    /** A leaf found by a walk. */
    record Leaf(long pte, int level, long size, long pa) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in Smmuv3Backend
            return o instanceof Leaf l && l.pte == pte && l.level == level && l.size == size
                    && l.pa == pa;
        }

        @Override
        public int hashCode() {
            return 31 * (31 * (31 * Long.hashCode(pte) + level) + Long.hashCode(size))
                    + Long.hashCode(pa);
        }

        @Override
        public String toString() {
            return "Leaf[pte=" + pte + ", level=" + level + ", size=" + size + ", pa=" + pa + "]";
        }
    }

    static final long GRANULE = 1L << 12;
    static final long PGSIZE_BITMAP = (1L << 12) | (1L << 21) | (1L << 30);

    static final long VALID = 1;
    static final long TYPE_MASK = 3;
    static final long TYPE_BLOCK = 1;
    static final long TYPE_TABLE = 3;
    static final long TYPE_PAGE = 3;
    static final long AF = 1L << 10;
    static final long SH_IS = 3L << 8;
    static final long NG = 1L << 11;
    static final long AP_UNPRIV = 1L << 6;
    static final long AP_RDONLY = 1L << 7;
    static final long HAP_READ = 1L << 6;
    static final long HAP_WRITE = 2L << 6;
    static final long XN = 3L << 53;
    static final int ATTR_IDX_NC = 0;
    static final int ATTR_IDX_CACHE = 1;
    static final int ATTR_IDX_DEV = 2;
    static final long MEMATTR_OIWB = 0xfL << 2;
    static final long MEMATTR_NC = 0x5L << 2;
    static final long MEMATTR_DEV = 0x1L << 2;
    static final long OA_MASK = mask(47, 12);

    final Stage stage;
    final int iasBits;
    final int oasBits;
    final int startLevel;
    private final PhysMem mem;
    private final Object owner;
    private final PhysMem.Region pgd;

    /**
     * @param owner the domain, stored as the tag of every table page
     * @throws IoasidException ENOMEM when the top-level table cannot be allocated
     */
    IoPgtable(Stage stage, int iasBits, int oasBits, PhysMem mem, Object owner) {
        this.stage = stage;
        this.iasBits = iasBits;
        this.oasBits = oasBits;
        this.startLevel = startLevel(iasBits);
        this.mem = mem;
        this.owner = owner;
        this.pgd = mem.alloc(entries(startLevel, iasBits) * 8, owner);
    }

    static int startLevel(int iasBits) {
        int levels = (iasBits - 12 + 8) / 9;
        return 4 - levels;
    }

    static int shift(int level) {
        return 12 + 9 * (3 - level);
    }

    static int entries(int level, int iasBits) {
        return level == startLevel(iasBits) ? 1 << (iasBits - shift(level)) : 512;
    }

    static long blockSize(int level) {
        return 1L << shift(level);
    }

    static int levelOf(long pgsize) {
        if (pgsize == 1L << 12) {
            return 3;
        } else if (pgsize == 1L << 21) {
            return 2;
        } else if (pgsize == 1L << 30) {
            return 1;
        }
        return -1;
    }

    /** The table base address: CD TTB0 or STE S2TTB. */
    long ttb() {
        return pgd.pa;
    }

    private static long index(long va, int level, int iasBits) {
        return (va >>> shift(level)) & (entries(level, iasBits) - 1);
    }

    private static boolean isTable(long pte, int level) {
        return level < 3 && (pte & TYPE_MASK) == TYPE_TABLE;
    }

    private static boolean isLeaf(long pte, int level) {
        if (level == 3) {
            return (pte & TYPE_MASK) == TYPE_PAGE;
        }
        return level > 0 && (pte & TYPE_MASK) == TYPE_BLOCK;
    }

    long protToPte(int prot) {
        long pte = AF | SH_IS;
        if (stage == Stage.S1) {
            pte |= NG;
            if ((prot & Prot.WRITE) == 0 && (prot & Prot.READ) != 0) {
                pte |= AP_RDONLY;
            }
            if ((prot & Prot.PRIV) == 0) {
                pte |= AP_UNPRIV;
            }
            int idx = (prot & Prot.MMIO) != 0 ? ATTR_IDX_DEV
                    : (prot & Prot.CACHE) != 0 ? ATTR_IDX_CACHE : ATTR_IDX_NC;
            pte |= (long) idx << 2;
        } else {
            if ((prot & Prot.READ) != 0) {
                pte |= HAP_READ;
            }
            if ((prot & Prot.WRITE) != 0) {
                pte |= HAP_WRITE;
            }
            pte |= (prot & Prot.MMIO) != 0 ? MEMATTR_DEV
                    : (prot & Prot.CACHE) != 0 ? MEMATTR_OIWB : MEMATTR_NC;
        }
        if ((prot & Prot.NOEXEC) != 0) {
            pte |= XN;
        }
        return pte;
    }

    // ------------------------------------------------------------------ map

    /** Undo log of one map call. */
    private static final class Journal {
        final List<long[]> writes = new ArrayList<>();
        final List<PhysMem.Region> allocated = new ArrayList<>();
        final List<long[]> emptied = new ArrayList<>();
    }

    void map(long iova, long paddr, long pgsize, long count, int prot) {
        int level = levelOf(pgsize);
        if (level < 0) {
            throw new IoasidException(Errno.EINVAL, "page size " + hex(pgsize)
                    + " is not one of 4K, 2M, 1G");
        }
        if (count < 1 || (iova & (pgsize - 1)) != 0 || (paddr & (pgsize - 1)) != 0) {
            throw new IoasidException(Errno.EINVAL, "map " + hex(iova) + " -> " + hex(paddr)
                    + " x" + count + " not aligned to " + hex(pgsize));
        }
        if ((prot & (Prot.READ | Prot.WRITE)) == 0) {
            throw new IoasidException(Errno.EINVAL, "prot " + prot + " grants no access");
        }
        long size = pgsize * count;
        if (size / count != pgsize || iova + size < iova || iova + size > 1L << iasBits) {
            throw new IoasidException(Errno.ERANGE, "IOVA " + hex(iova) + "+" + hex(size)
                    + " beyond the " + iasBits + "-bit input range");
        }
        if (paddr + size < paddr || paddr + size > 1L << oasBits) {
            throw new IoasidException(Errno.ERANGE, "PA " + hex(paddr) + "+" + hex(size)
                    + " beyond the " + oasBits + "-bit output range");
        }
        // Check the whole call first: EEXIST leaves everything as it was.
        for (long i = 0; i < count; i++) {
            long va = iova + i * pgsize;
            String clash = conflict(va, level);
            if (clash != null) {
                throw new IoasidException(Errno.EEXIST, hex(va) + " is mapped already (" + clash
                        + ")");
            }
        }
        long attrs = protToPte(prot);
        Journal j = new Journal();
        try {
            for (long i = 0; i < count; i++) {
                mapOne(iova + i * pgsize, paddr + i * pgsize, level, attrs, j);
            }
        } catch (IoasidException e) {
            for (int k = j.writes.size() - 1; k >= 0; k--) {
                mem.write(j.writes.get(k)[0], j.writes.get(k)[1]);
            }
            for (PhysMem.Region r : j.allocated) {
                mem.free(r);
            }
            throw e;
        }
        for (long[] t : j.emptied) {
            freeTable(t[0], (int) t[1]);
        }
    }

    /** Why a leaf at {@code level} for {@code va} cannot go in, or null. */
    private String conflict(long va, int level) {
        long table = pgd.pa;
        for (int l = startLevel; l <= level; l++) {
            long pte = mem.read(table + 8 * index(va, l, iasBits));
            if ((pte & VALID) == 0) {
                return null;
            }
            if (isLeaf(pte, l)) {
                return "a " + hex(blockSize(l)) + " leaf at level " + l;
            }
            if (l == level) {
                return hasLeaves(pte & OA_MASK, l + 1) ? "a table at level " + l : null;
            }
            table = pte & OA_MASK;
        }
        return null;
    }

    private boolean hasLeaves(long table, int level) {
        PhysMem.Region r = mem.region(table);
        for (long pte : r.words) {
            if ((pte & VALID) == 0) {
                continue;
            }
            if (isLeaf(pte, level) || hasLeaves(pte & OA_MASK, level + 1)) {
                return true;
            }
        }
        return false;
    }

    private void mapOne(long va, long pa, int level, long attrs, Journal j) {
        long table = pgd.pa;
        for (int l = startLevel; l < level; l++) {
            long slot = table + 8 * index(va, l, iasBits);
            long pte = mem.read(slot);
            if ((pte & VALID) == 0) {
                PhysMem.Region next = mem.alloc(512 * 8, owner);
                j.allocated.add(next);
                long desc = (next.pa & OA_MASK) | TYPE_TABLE;
                j.writes.add(new long[] {slot, pte});
                mem.write(slot, desc);
                pte = desc;
            }
            table = pte & OA_MASK;
        }
        long slot = table + 8 * index(va, level, iasBits);
        long old = mem.read(slot);
        if ((old & VALID) != 0 && isTable(old, level)) {
            j.emptied.add(new long[] {old & OA_MASK, level + 1}); // checked empty; freed on success
        }
        j.writes.add(new long[] {slot, old});
        mem.write(slot, (pa & OA_MASK) | attrs | (level == 3 ? TYPE_PAGE : TYPE_BLOCK));
    }

    // ------------------------------------------------------------------ unmap

    long unmap(long iova, long pgsize, long count, IotlbGather gather, FlushOps flush) {
        int level = levelOf(pgsize);
        if (level < 0 || count < 1 || (iova & (pgsize - 1)) != 0 || iova < 0
                || iova >= 1L << iasBits) {
            return 0;
        }
        long done = 0;
        for (long i = 0; i < count; i++) {
            long va = iova + i * pgsize;
            if (va >= 1L << iasBits || !unmapOne(va, level, gather, flush)) {
                break;
            }
            done += pgsize;
        }
        return done;
    }

    private boolean unmapOne(long va, int level, IotlbGather gather, FlushOps flush) {
        long table = pgd.pa;
        for (int l = startLevel; l < level; l++) {
            long slot = table + 8 * index(va, l, iasBits);
            long pte = mem.read(slot);
            if ((pte & VALID) == 0) {
                return false;
            }
            if (isLeaf(pte, l)) {
                if (!split(slot, pte, l)) {
                    return false;
                }
                pte = mem.read(slot);
            }
            table = pte & OA_MASK;
        }
        long slot = table + 8 * index(va, level, iasBits);
        long pte = mem.read(slot);
        if ((pte & VALID) == 0) {
            return false;
        }
        mem.write(slot, 0);
        long size = blockSize(level);
        if (isTable(pte, level)) {
            freeTable(pte & OA_MASK, level + 1);
            // The walk caches may hold the freed table: flush now (io_pgtable_tlb_flush_walk).
            flush.flushWalk(va, size, GRANULE);
        } else {
            gather.add(va, size, size);
        }
        return true;
    }

    /** Replaces the block at {@code slot} by a table of next-level blocks with its attributes. */
    private boolean split(long slot, long block, int level) {
        PhysMem.Region next;
        try {
            next = mem.alloc(512 * 8, owner);
        } catch (IoasidException e) {
            return false; // io-pgtable-arm gives up the unmap (returns 0) when it cannot split
        }
        long attrs = block & ~OA_MASK & ~TYPE_MASK;
        long base = block & OA_MASK;
        long sub = blockSize(level + 1);
        long type = level + 1 == 3 ? TYPE_PAGE : TYPE_BLOCK;
        for (int i = 0; i < 512; i++) {
            next.words[i] = ((base + i * sub) & OA_MASK) | attrs | type;
        }
        mem.write(slot, (next.pa & OA_MASK) | TYPE_TABLE);
        return true;
    }

    private void freeTable(long tablePa, int level) {
        PhysMem.Region r = mem.region(tablePa);
        if (r == null) {
            return;
        }
        for (long pte : r.words) {
            if ((pte & VALID) != 0 && isTable(pte, level)) {
                freeTable(pte & OA_MASK, level + 1);
            }
        }
        mem.free(r);
    }

    /** Frees every table of this page table. */
    void free() {
        freeTable(pgd.pa, startLevel);
    }

    // ------------------------------------------------------------------ walks

    long iovaToPhys(long iova) {
        if (iova < 0 || iova >= 1L << iasBits) {
            return 0;
        }
        Leaf leaf = walk(mem, pgd.pa, iasBits, iova);
        return leaf == null ? 0 : leaf.pa();
    }

    /**
     * The hardware walk: from a table base read out of a CD or STE, for an input size taken from
     * T0SZ. Returns null on a translation fault.
     */
    static Leaf walk(PhysMem mem, long ttb, int iasBits, long va) {
        if (va < 0 || (iasBits < 64 && va >= 1L << iasBits)) {
            return null;
        }
        long table = ttb;
        for (int l = startLevel(iasBits); l <= 3; l++) {
            long pte = mem.read(table + 8 * index(va, l, iasBits));
            if ((pte & VALID) == 0) {
                return null;
            }
            if (isLeaf(pte, l)) {
                long size = blockSize(l);
                return new Leaf(pte, l, size, (pte & OA_MASK & ~(size - 1)) | (va & (size - 1)));
            }
            if (!isTable(pte, l)) {
                return null;
            }
            table = pte & OA_MASK;
        }
        return null;
    }

    /** Whether the leaf allows the access (stage-1 AP or stage-2 S2AP). */
    static boolean permits(Stage stage, long pte, boolean write) {
        if (stage == Stage.S1) {
            return !write || (pte & AP_RDONLY) == 0;
        }
        return write ? (pte & HAP_WRITE) != 0 : (pte & HAP_READ) != 0;
    }

    /** Every valid descriptor, for state snapshots. */
    void dump(StringBuilder out) {
        dump(out, pgd.pa, startLevel, 0);
    }

    private void dump(StringBuilder out, long table, int level, long vaBase) {
        PhysMem.Region r = mem.region(table);
        out.append(" T").append(level).append('@').append(hex(table));
        for (int i = 0; i < r.words.length; i++) {
            long pte = r.words[i];
            if ((pte & VALID) == 0) {
                continue;
            }
            long va = vaBase + ((long) i << shift(level));
            out.append(' ').append(hex(va)).append('=').append(hex(pte));
            if (isTable(pte, level)) {
                dump(out, pte & OA_MASK, level + 1, va);
            }
        }
    }
}

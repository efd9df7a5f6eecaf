package ioasid.backend.vtd.impl;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

/**
 * One device's scalable-mode PASID table: a directory of 8-byte entries ({@code max_pasid >> 3}
 * bytes, at least one page as the kernel allocates it), each pointing to a 4 KiB table of 64
 * PASID entries of 64 bytes. Table pages are allocated on demand and published into the
 * directory with compare-and-set: a thread that loses the race frees its page and retries with
 * the winner's (rule 95; {@code intel_pasid_get_entry}). Directory entries are never cleared once
 * set, so the lookup needs no lock.
 */
final class PasidTable {
    /** Where one PASID entry sits in memory. */
    record Slot(long[] table, int index, long pa) {
        long[] read() {
            return PasidEntry.read(table, index);
        }

        void write(long[] e) {
            PasidEntry.write(table, index, e);
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VtdBackend; arrays by identity
            return o instanceof Slot s && s.table == table && s.index == index && s.pa == pa;
        }

        @Override
        public int hashCode() {
            return 31 * (31 * Objects.hashCode(table) + index) + Long.hashCode(pa);
        }

        @Override
        public String toString() {
            return "Slot[table=" + table + ", index=" + index + ", pa=" + pa + "]";
        }
    }

    private final PhysMem mem;
    private final int maxPasid;
    private final int dirEntries;
    private final long dirPa;
    private final long[] dir;
    /** Notes CLFLUSHes when the unit is not coherent; null when it is. */
    private final Consumer<Command> clflush;
    private final AtomicLong raceLosses = new AtomicLong();
    /** Test hook: runs after a table page is allocated and before it is published. */
    volatile Runnable beforePublish;

    PasidTable(PhysMem mem, int maxPasid, Consumer<Command> clflush) {
        if (maxPasid < 1) {
            throw new IllegalArgumentException("max PASID " + maxPasid);
        }
        this.mem = mem;
        this.maxPasid = maxPasid;
        this.dirEntries = Math.max(1, maxPasid >> PasidEntry.PDE_SHIFT);
        int bytes = dirEntries * Long.BYTES;
        int pages = (int) ((bytes + PhysMem.PAGE_SIZE - 1) / PhysMem.PAGE_SIZE);
        this.dirPa = mem.alloc(pages);
        this.dir = mem.table(dirPa);
        this.clflush = clflush;
    }

    /** PASIDs this table serves: {@code [0, maxPasid)}. */
    int maxPasid() {
        return maxPasid;
    }

    int dirEntries() {
        return dirEntries;
    }

    long dirAddress() {
        return dirPa;
    }

    /**
     * The context entry's PDTS: the directory has {@code 2^(PDTS + 7)} entries
     * ({@code context_get_sm_pds}).
     */
    int pdts() {
        int bits = 31 - Integer.numberOfLeadingZeros(dirEntries);
        return Math.max(0, bits - 7);
    }

    long rawDirEntry(int index) {
        return PhysMem.read(dir, index);
    }

    long raceLosses() {
        return raceLosses.get();
    }

    /**
     * The entry of {@code pasid}, allocating its table page when {@code allocate}; null when the
     * PASID is past this table or its page is absent and not to be allocated.
     */
    Slot entry(int pasid, boolean allocate) {
        if (pasid < 0 || pasid >= maxPasid) {
            return null;
        }
        int di = pasid >>> PasidEntry.PDE_SHIFT;
        int index = pasid & PasidEntry.PTE_MASK;
        for (;;) {
            long de = PhysMem.read(dir, di);
            if (PasidEntry.dirPresent(de)) {
                long pa = PasidEntry.dirTable(de);
                return new Slot(mem.table(pa), index, pa + (long) index * PasidEntry.BYTES);
            }
            if (!allocate) {
                return null;
            }
            long page = mem.alloc(1);
            Runnable hook = beforePublish;
            if (hook != null) {
                hook.run();
            }
            if (!PhysMem.cas(dir, di, 0L, PasidEntry.dirEntry(page))) {
                // someone published a table for this directory entry meanwhile: use theirs
                mem.free(page);
                raceLosses.incrementAndGet();
                continue;
            }
            if (clflush != null) {
                clflush.accept(Command.clflush(page, (int) PhysMem.PAGE_SIZE,
                        Command.FLUSH_PASID_TABLE));
                clflush.accept(Command.clflush(dirPa + (long) di * Long.BYTES, Long.BYTES,
                        Command.FLUSH_PASID_DIR));
            }
        }
    }

    /** Frees the directory and every table page (device release). */
    void release() {
        for (int i = 0; i < dirEntries; i++) {
            long de = PhysMem.read(dir, i);
            if (PasidEntry.dirPresent(de)) {
                mem.free(PasidEntry.dirTable(de));
                PhysMem.write(dir, i, 0);
            }
        }
        mem.free(dirPa);
    }
}

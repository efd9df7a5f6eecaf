package ioasid.backend.vtd.impl;

import java.util.Objects;
import java.util.concurrent.atomic.AtomicLong;

import ioasid.api.Errno;
import ioasid.api.IoasidException;

/*
 * One device's scalable-mode PASID table: a directory of 8-byte entries (max_pasid >> 3 bytes, at
 * least one page as the kernel allocates it), each pointing to a 4 KiB table of 64 PASID entries
 * of 64 bytes, and the order in which the driver programs and tears down those entries (pasid.c).
 * Setup and teardown run under the driver's lock; the lookup needs none.
 *
 * Rules:
 *  1. Table pages are allocated on demand and published into the directory with compare-and-set:
 *     a thread that loses the race frees its page and retries with the winner's (rule 95,
 *     intel_pasid_get_entry). Directory entries are never cleared once set.
 *  2. Programming an entry that is present is EBUSY; a PASID past the table is ENODEV (rule 95).
 *     The entry is written with its present bit last; then pasid_flush_caches: caching mode sends
 *     a PASID-cache invalidation and a PASID-based IOTLB flush, otherwise a write-buffer flush.
 *  3. Teardown is intel_pasid_tear_down_entry (rule 96): return when not present; read DID and
 *     PGTT; clear, keeping FPD under fault_ignore; clflush when not coherent; PASID-cache
 *     invalidation; PASID-based IOTLB flush for FL-only and pass-through entries, domain-selective
 *     otherwise; unless caching mode, a device-TLB flush (PASID form for PASIDs, plain for 0).
 *  4. Replace (rules.md rule 110, D25): the entry must be present (else EINVAL; none, ENODEV);
 *     the new entry is written over it, never cleared on the way; then, with the OLD DID, a
 *     PASID-selective-within-domain PASID-cache invalidation, a PASID-selective PASID-based
 *     IOTLB invalidation and the device TLB when ATS is on.
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

    private final DmarUnit unit;
    private final PhysMem mem;
    private final CacheFlush flush;
    /** The owning device, for messages and its device-TLB. */
    private final String device;
    private final int rid;
    private final int maxPasid;
    private final int dirEntries;
    private final long dirPa;
    private final long[] dir;
    private final AtomicLong raceLosses = new AtomicLong();
    /** Test hook: runs after a table page is allocated and before it is published. */
    volatile Runnable beforePublish;

    PasidTable(DmarUnit unit, CacheFlush flush, String device, int rid, int maxPasid) {
        if (maxPasid < 1) {
            throw new IllegalArgumentException("max PASID " + maxPasid);
        }
        this.unit = unit;
        this.mem = unit.mem;
        this.flush = flush;
        this.device = device;
        this.rid = rid;
        this.maxPasid = maxPasid;
        this.dirEntries = Math.max(1, maxPasid >> PasidEntry.PDE_SHIFT);
        int bytes = dirEntries * Long.BYTES;
        int pages = (int) ((bytes + PhysMem.PAGE_SIZE - 1) / PhysMem.PAGE_SIZE);
        this.dirPa = mem.alloc(pages);
        this.dir = mem.table(dirPa);
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
            flush.clflush(Command.clflush(page, (int) PhysMem.PAGE_SIZE,
                    Command.FLUSH_PASID_TABLE));
            flush.clflush(Command.clflush(dirPa + (long) di * Long.BYTES, Long.BYTES,
                    Command.FLUSH_PASID_DIR));
        }
    }

    /** intel_pasid_setup_{second_level,first_level,pass_through} (rule 95). */
    void setUp(int pasid, VtdDomain dom) {
        Slot slot = entry(pasid, true);
        if (slot == null) {
            throw new IoasidException(Errno.ENODEV, "no PASID entry " + pasid + " for " + device);
        }
        if (PasidEntry.present(slot.read())) {
            throw new IoasidException(Errno.EBUSY, "PASID " + pasid + " of " + device
                    + " is in use");
        }
        slot.write(PasidEntry.withPresent(entryFor(dom)));
        flushCaches(slot, pasid, dom.did());
    }

    /** pasid_pte_config_{second_level,first_level,pass_through}: the entry, not yet present. */
    private long[] entryFor(VtdDomain dom) {
        boolean snoop = unit.pageWalkSnoop();
        switch (dom.type()) {
            case IDENTITY:
                return PasidEntry.passThrough(dom.did(), VtdParams.AGAW_48, snoop);
            case SVA:
                return PasidEntry.firstLevel(dom.did(), dom.flptptr(), VtdParams.AGAW_48, 0, snoop);
            default:
                return PasidEntry.secondLevel(dom.did(), dom.table().root(), VtdParams.AGAW_48,
                        snoop);
        }
    }

    /**
     * intel_pasid_replace_{second_level,first_level,pass_through}, then intel_pasid_flush_present
     * (rule 4).
     */
    void replace(int pasid, VtdDomain dom) {
        Slot slot = entry(pasid, false);
        if (slot == null) {
            throw new IoasidException(Errno.ENODEV, "no PASID entry " + pasid + " for " + device);
        }
        long[] cur = slot.read();
        if (!PasidEntry.present(cur)) {
            throw new IoasidException(Errno.EINVAL, "PASID " + pasid + " of " + device
                    + " is not present: not a replace");
        }
        int oldDid = PasidEntry.did(cur);
        slot.write(PasidEntry.withPresent(entryFor(dom)));
        flush.clflush(slot.pa(), PasidEntry.BYTES, Command.FLUSH_PASID_ENTRY);
        flush.submit(Command.pasidCache(Command.PC_PASID, oldDid, pasid));
        flush.submit(Command.pasidIotlb(oldDid, pasid));
        flush.devTlb(rid, pasid); // no caching-mode exception here, unlike teardown
    }

    /** pasid_flush_caches, after an entry became present. */
    private void flushCaches(Slot slot, int pasid, int did) {
        flush.clflush(slot.pa(), PasidEntry.BYTES, Command.FLUSH_PASID_ENTRY);
        if (unit.cachingMode()) {
            flush.submit(Command.pasidCache(Command.PC_PASID, did, pasid));
            flush.submit(Command.pasidIotlb(did, pasid));
        } else {
            flush.writeBuffer();
        }
    }

    /** intel_pasid_tear_down_entry, step by step (rule 96). */
    void tearDown(int pasid) {
        Slot slot = entry(pasid, false);
        if (slot == null) {
            return;
        }
        long[] e = slot.read();
        if (!PasidEntry.present(e)) {
            return;
        }
        int did = PasidEntry.did(e);
        int pgtt = PasidEntry.pgtt(e);
        slot.write(PasidEntry.cleared(unit.params.faultIgnore));
        flush.clflush(slot.pa(), PasidEntry.BYTES, Command.FLUSH_PASID_ENTRY);
        flush.submit(Command.pasidCache(Command.PC_PASID, did, pasid));
        if (pgtt == PasidEntry.PGTT_PT || pgtt == PasidEntry.PGTT_FL_ONLY) {
            flush.submit(Command.pasidIotlb(did, pasid));
        } else {
            flush.submit(Command.iotlbDomain(did));
        }
        if (!unit.cachingMode()) {
            flush.devTlb(rid, pasid); // device IOTLB needs no flush in caching mode
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

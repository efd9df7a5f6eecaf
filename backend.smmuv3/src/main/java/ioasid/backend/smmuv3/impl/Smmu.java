package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Bits.hex;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.Iterator;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.ProcessAddressSpace;
import ioasid.api.iommu.spi.BackendDomain;
import ioasid.api.iommu.spi.Walk;

/*
 * The SMMUv3 hardware: ID registers, the stream table in memory, the command queue consumer, the
 * configuration cache (STEs, L1CDs, CDs) and the TLB, and the translation walk.
 *
 * Rules of this model:
 *  1. The walk reads only memory and its caches: STE by StreamID, then (stage 1) the CD table the
 *     STE points to, then the translation table the CD points to. What a cache holds is used
 *     until a command consumed at a CMD_SYNC invalidates it (see CommandQueue).
 *  2. Valid STEs and CDs are cached; invalid ones are not, except L1CDs, which are cached whether
 *     valid or not ("An invalid L1CD can be cached", rule 99).
 *  3. CMD_CFGI_STE drops the STE and every CD and L1CD cached through that StreamID (IHI0070
 *     4.3.1); CMD_CFGI_CD drops one CD, and its L1CD when Leaf is 0; CMD_CFGI_CD_ALL every CD and
 *     L1CD of the StreamID.
 *  4. The TLB holds leaf translations tagged (VMID, ASID) for stage 1 and VMID for stage 2, with
 *     the size of the leaf; TLBI by address drops the entries whose range holds the address.
 *     Stage-1 contexts that share a CPU page table (SVA, ASET=0) are not cached here: they take
 *     part in broadcast TLB maintenance, which this model has no view of, so they are walked
 *     every time (as if the CPU's invalidations always reached the SMMU).
 *  5. Fault reasons are the event names of IHI0070 7.3; an STE with Config=abort terminates
 *     without an event, reported here as "STE_ABORT".
 *
 * Guarded by the instance lock (Smmuv3Driver.lock), walks included: a walk fills the caches.
 */
final class Smmu {
    /** Fault reasons (IHI0070 7.3 event names). */
    static final String C_BAD_STREAMID = "C_BAD_STREAMID";
    static final String C_BAD_STE = "C_BAD_STE";
    static final String STE_ABORT = "STE_ABORT";
    static final String F_STREAM_DISABLED = "F_STREAM_DISABLED";
    static final String C_BAD_SUBSTREAMID = "C_BAD_SUBSTREAMID";
    static final String C_BAD_CD = "C_BAD_CD";
    static final String F_TRANSLATION = "F_TRANSLATION";
    static final String F_PERMISSION = "F_PERMISSION";

    /** STRTAB_L1_SZ_SHIFT: the L1 stream table is at most 1 MiB (2^17 descriptors). */
    static final int STRTAB_L1_MAX_LOG2 = 17;

    /** The walk reached a CD that shares a process page table: the caller walks the mm. */
    record SvaWalk(SharedAsid shared, BackendDomain domain) {
        /** Walks the process's page table; called without the instance lock. */
        Walk finish(long iova, Access access) {
            ProcessAddressSpace mm = shared.mm;
            long pa = mm.translate(iova, access);
            if (pa >= 0) {
                return Walk.translated(pa, domain);
            }
            if (access == Access.WRITE && mm.translate(iova, Access.READ) >= 0) {
                return Walk.fault(F_PERMISSION, domain);
            }
            return Walk.fault(F_TRANSLATION, domain);
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in Smmuv3Backend
            return o instanceof SvaWalk w && Objects.equals(w.shared, shared)
                    && Objects.equals(w.domain, domain);
        }

        @Override
        public int hashCode() {
            return 31 * Objects.hashCode(shared) + Objects.hashCode(domain);
        }

        @Override
        public String toString() {
            return "SvaWalk[shared=" + shared + ", domain=" + domain + "]";
        }
    }

    private record CachedEntry(long[] words, Object owner) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in Smmuv3Backend; arrays by identity
            return o instanceof CachedEntry e && e.words == words && Objects.equals(e.owner, owner);
        }

        @Override
        public int hashCode() {
            return 31 * Objects.hashCode(words) + Objects.hashCode(owner);
        }

        @Override
        public String toString() {
            return "CachedEntry[words=" + words + ", owner=" + owner + "]";
        }
    }

    private record TlbKey(boolean s2, int vmid, int asid, long base, long size) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in Smmuv3Backend
            return o instanceof TlbKey k && k.s2 == s2 && k.vmid == vmid && k.asid == asid
                    && k.base == base && k.size == size;
        }

        @Override
        public int hashCode() {
            int h = Boolean.hashCode(s2);
            h = 31 * h + vmid;
            h = 31 * h + asid;
            h = 31 * h + Long.hashCode(base);
            return 31 * h + Long.hashCode(size);
        }

        @Override
        public String toString() {
            return "TlbKey[s2=" + s2 + ", vmid=" + vmid + ", asid=" + asid + ", base=" + base
                    + ", size=" + size + "]";
        }
    }

    private record TlbEntry(long pte, long paBase, IoPgtable.Stage stage, BackendDomain owner) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in Smmuv3Backend
            return o instanceof TlbEntry e && e.pte == pte && e.paBase == paBase
                    && e.stage == stage && Objects.equals(e.owner, owner);
        }

        @Override
        public int hashCode() {
            int h = Long.hashCode(pte);
            h = 31 * h + Long.hashCode(paBase);
            h = 31 * h + Objects.hashCode(stage);
            return 31 * h + Objects.hashCode(owner);
        }

        @Override
        public String toString() {
            return "TlbEntry[pte=" + pte + ", paBase=" + paBase + ", stage=" + stage + ", owner="
                    + owner + "]";
        }
    }

    // ID registers
    final int sidBits;
    final int ssidBits;
    final boolean cd2l;
    final int asidBits;
    final int vmidBits;
    final int ias;
    final int oas;

    final PhysMem mem;
    final CommandQueue cmdq;

    private final boolean twoLevelStrtab;
    private final int l1Log2;
    private final PhysMem.Region strtab;
    private final Map<Long, PhysMem.Region> spans = new HashMap<>();

    private final Map<Long, CachedEntry> steCache = new HashMap<>();
    private final Map<Long, CachedEntry> cdCache = new HashMap<>();
    private final Map<Long, Long> l1cdCache = new HashMap<>();
    private final Map<TlbKey, TlbEntry> tlb = new HashMap<>();

    Smmu(int sidBits, int ssidBits, boolean cd2l, boolean asid16, boolean vmid16, int ias, int oas,
            long tableMemoryBytes, int logSize) {
        this.sidBits = sidBits;
        this.ssidBits = ssidBits;
        this.cd2l = cd2l;
        this.asidBits = asid16 ? 16 : 8;
        this.vmidBits = vmid16 ? 16 : 8;
        this.ias = ias;
        this.oas = oas;
        // Tables live in the upper half of the output address space.
        long base = 1L << (oas - 1);
        this.mem = new PhysMem(base, 1L << oas, tableMemoryBytes);
        this.cmdq = new CommandQueue(this::consume, logSize);
        // Linear when every STE fits one span (arm_smmu_device_hw_probe drops 2-level then).
        this.twoLevelStrtab = sidBits > Ste.SPLIT;
        if (twoLevelStrtab) {
            this.l1Log2 = Math.min(sidBits - Ste.SPLIT, STRTAB_L1_MAX_LOG2);
            this.strtab = mem.alloc((1 << l1Log2) * 8, null);
        } else {
            this.l1Log2 = 0;
            this.strtab = mem.alloc((1 << sidBits) * Ste.BYTES, null);
            for (long sid = 0; sid < 1L << sidBits; sid++) {
                writeWords(strtab.pa + sid * Ste.BYTES, Ste.abort());
            }
        }
    }

    // ------------------------------------------------------------------ stream table

    /** Whether the stream table can hold this StreamID (arm_smmu_sid_in_range). */
    boolean sidInRange(long sid) {
        if (sid < 0 || sid >= 1L << sidBits) {
            return false;
        }
        return !twoLevelStrtab || (sid >>> Ste.SPLIT) < 1L << l1Log2;
    }

    boolean twoLevelStrtab() {
        return twoLevelStrtab;
    }

    long strtabBase() {
        return strtab.pa;
    }

    /**
     * Makes sure the level-2 span holding {@code sid} exists (arm_smmu_init_l2_strtab): a new
     * span is filled with abort STEs, then its L1 descriptor is written.
     */
    void ensureSpan(long sid) {
        if (!twoLevelStrtab) {
            return;
        }
        long idx = sid >>> Ste.SPLIT;
        if (spans.containsKey(idx)) {
            return;
        }
        PhysMem.Region span = mem.alloc((1 << Ste.SPLIT) * Ste.BYTES, null);
        for (int i = 0; i < 1 << Ste.SPLIT; i++) {
            writeWords(span.pa + (long) i * Ste.BYTES, Ste.abort());
        }
        spans.put(idx, span);
        mem.write(strtab.pa + idx * 8, Ste.l1Desc(span.pa, Ste.SPLIT + 1));
    }

    /** The address of the STE, read the way the hardware does; -1 past the table. */
    long steAddress(long sid) {
        if (!sidInRange(sid)) {
            return -1;
        }
        if (!twoLevelStrtab) {
            return strtab.pa + sid * Ste.BYTES;
        }
        long l1 = mem.read(strtab.pa + (sid >>> Ste.SPLIT) * 8);
        long span = Bits.get(l1, 4, 0);
        long l2 = l1 & Ste.L1_L2PTR_MASK;
        if (span == 0 || (sid & ((1L << Ste.SPLIT) - 1)) >= 1L << (span - 1)) {
            return -1;
        }
        return l2 + (sid & ((1L << Ste.SPLIT) - 1)) * Ste.BYTES;
    }

    long[] readSte(long sid) {
        long addr = steAddress(sid);
        return addr < 0 ? null : readWords(addr, Ste.DWORDS);
    }

    /**
     * Writes an STE (dwords 1-7, then dword 0 with V) and tags it with the domain that wrote it;
     * the caller issues CFGI_STE and CMD_SYNC.
     */
    void writeSte(long sid, long[] ste, BackendDomain owner) {
        long addr = steAddress(sid);
        for (int i = 1; i < Ste.DWORDS; i++) {
            mem.write(addr + 8L * i, ste[i]);
        }
        mem.write(addr, ste[0]);
        mem.tag(addr, owner);
    }

    long[] readWords(long addr, int n) {
        long[] w = new long[n];
        for (int i = 0; i < n; i++) {
            w[i] = mem.read(addr + 8L * i);
        }
        return w;
    }

    void writeWords(long addr, long[] words) {
        for (int i = 0; i < words.length; i++) {
            mem.write(addr + 8L * i, words[i]);
        }
    }

    // ------------------------------------------------------------------ command consumption

    private static long cdKey(long sid, long index) {
        return sid << 20 | index;
    }

    private void consume(Command c) {
        switch (c.op()) {
            case CFGI_STE:
                steCache.remove(c.sid());
                dropSid(cdCache, c.sid());
                dropSid(l1cdCache, c.sid());
                break;
            case CFGI_ALL:
                steCache.clear();
                cdCache.clear();
                l1cdCache.clear();
                break;
            case CFGI_CD:
                cdCache.remove(cdKey(c.sid(), c.ssid()));
                if (!c.leaf()) {
                    l1cdCache.remove(cdKey(c.sid(), c.ssid() >>> Cd.SPLIT));
                }
                break;
            case CFGI_CD_ALL:
                dropSid(cdCache, c.sid());
                dropSid(l1cdCache, c.sid());
                break;
            case TLBI_NH_ALL:
                tlb.keySet().removeIf(k -> !k.s2() && k.vmid() == c.vmid());
                break;
            case TLBI_NH_ASID:
                tlb.keySet().removeIf(k -> !k.s2() && k.vmid() == c.vmid() && k.asid() == c.asid());
                break;
            case TLBI_NH_VA:
                tlb.keySet().removeIf(k -> !k.s2() && k.vmid() == c.vmid() && k.asid() == c.asid()
                        && covers(k, c.addr()));
                break;
            case TLBI_S12_VMALL:
                tlb.keySet().removeIf(k -> k.vmid() == c.vmid());
                break;
            case TLBI_S2_IPA:
                tlb.keySet().removeIf(k -> k.s2() && k.vmid() == c.vmid() && covers(k, c.addr()));
                break;
            case TLBI_NSNH_ALL:
                tlb.clear();
                break;
            default:
                break; // PREFETCH_CFG, ATC_INV (no ATS modelled), CMD_SYNC
        }
    }

    private static boolean covers(TlbKey k, long addr) {
        return addr >= k.base() && addr - k.base() < k.size();
    }

    private static <V> void dropSid(Map<Long, V> cache, long sid) {
        cache.keySet().removeIf(k -> k >>> 20 == sid);
    }

    // ------------------------------------------------------------------ translation

    /**
     * One DMA as the SMMU handles it.
     *
     * @param ssid 0 for a transaction without a SubstreamID
     * @return a {@link Walk}, or an {@link SvaWalk} the caller finishes by walking the mm
     */
    Object translate(long sid, int ssid, long va, boolean write) {
        CachedEntry ste = steCache.get(sid);
        if (ste == null) {
            Object fetched = fetchSte(sid);
            if (fetched instanceof Walk fault) {
                return fault;
            }
            ste = (CachedEntry) fetched;
        }
        long[] s = ste.words();
        BackendDomain steOwner = (BackendDomain) ste.owner();
        int config = Ste.config(s);
        if (config < Ste.CFG_BYPASS) {
            return Walk.fault(STE_ABORT, steOwner);
        }
        if (config == Ste.CFG_BYPASS) {
            return ssid != 0 ? Walk.fault(C_BAD_SUBSTREAMID, steOwner) : Walk.bypass(steOwner);
        }
        if (config == Ste.CFG_S2_TRANS) {
            if (ssid != 0) {
                return Walk.fault(C_BAD_SUBSTREAMID, steOwner);
            }
            int s2ias = 64 - (int) Bits.get(Ste.s2vtcr(s), 5, 0);
            return walkTables(true, Ste.s2vmid(s), 0, Ste.s2ttb(s), s2ias, va, write, steOwner);
        }
        if (config != Ste.CFG_S1_TRANS) {
            return Walk.fault(C_BAD_STE, steOwner); // nested STEs are never written here
        }
        int cdmax = Ste.s1cdmax(s);
        int index;
        if (ssid == 0) {
            if (cdmax == 0) {
                index = 0;
            } else {
                switch (Ste.s1dss(s)) {
                    case Ste.S1DSS_BYPASS:
                        return Walk.bypass(steOwner);
                    case Ste.S1DSS_SSID0:
                        index = 0;
                        break;
                    default: // TERMINATE, and reserved 0b11 which behaves as it
                        return Walk.fault(F_STREAM_DISABLED, steOwner);
                }
            }
        } else {
            if (cdmax == 0 || ssid >= 1L << cdmax) {
                return Walk.fault(C_BAD_SUBSTREAMID, steOwner);
            }
            index = ssid;
        }
        CachedEntry cd = cdCache.get(cdKey(sid, index));
        if (cd == null) {
            Object fetched = fetchCd(sid, index, s);
            if (fetched instanceof Walk fault) {
                return fault;
            }
            cd = (CachedEntry) fetched;
        }
        long d0 = cd.words()[0];
        BackendDomain cdOwner = (BackendDomain) cd.owner();
        if ((d0 & Cd.EPD0) != 0) {
            return Walk.fault(F_TRANSLATION, cdOwner);
        }
        long ttb = Cd.ttb0(cd.words()[1]);
        if ((d0 & Cd.TBI0) != 0) {
            va &= 0x00ff_ffff_ffff_ffffL;
        }
        if (mem.owner(ttb) instanceof SharedAsid shared) {
            return new SvaWalk(shared, cdOwner);
        }
        return walkTables(false, 0, Cd.asid(d0), ttb, 64 - Cd.t0sz(d0), va, write, cdOwner);
    }

    /** An STE read from the stream table into the cache, or the fault reading it gives. */
    private Object fetchSte(long sid) {
        long addr = steAddress(sid);
        if (addr < 0) {
            return Walk.fault(C_BAD_STREAMID, null);
        }
        long[] w = readWords(addr, Ste.DWORDS);
        if (!Ste.valid(w)) {
            return Walk.fault(C_BAD_STE, null);
        }
        CachedEntry ste = new CachedEntry(w, mem.tag(addr));
        steCache.put(sid, ste);
        return ste;
    }

    /**
     * CD {@code index} of the table an S1 STE points to, read (through the L1CD cache for a
     * two-level table) into the cache, or the fault reading it gives.
     */
    private Object fetchCd(long sid, int index, long[] ste) {
        long ctx = Ste.s1ContextPtr(ste);
        long cdAddr;
        if (Ste.s1cdmax(ste) == 0 || Ste.s1fmt(ste) == Ste.S1FMT_LINEAR) {
            cdAddr = ctx + (long) index * Cd.BYTES;
        } else {
            long l1Key = cdKey(sid, index >>> Cd.SPLIT);
            Long l1 = l1cdCache.get(l1Key);
            if (l1 == null) {
                l1 = mem.read(ctx + 8L * (index >>> Cd.SPLIT));
                l1cdCache.put(l1Key, l1);
            }
            if ((l1 & Cd.L1_V) == 0) {
                return Walk.fault(C_BAD_SUBSTREAMID, null); // IHI0070 5.3.1
            }
            cdAddr = (l1 & Cd.L1_L2PTR_MASK) + (long) (index & (Cd.L2_ENTRIES - 1)) * Cd.BYTES;
        }
        long[] w = readWords(cdAddr, Cd.DWORDS);
        if (!Cd.valid(w[0])) {
            return Walk.fault(C_BAD_CD, null);
        }
        CachedEntry cd = new CachedEntry(w, mem.tag(cdAddr));
        cdCache.put(cdKey(sid, index), cd);
        return cd;
    }

    private Walk walkTables(boolean s2, int vmid, int asid, long ttb, int inBits, long va,
            boolean write, BackendDomain ctxOwner) {
        IoPgtable.Stage stage = s2 ? IoPgtable.Stage.S2 : IoPgtable.Stage.S1;
        for (int level = 3; level >= 1; level--) {
            long size = IoPgtable.blockSize(level);
            TlbEntry e = tlb.get(new TlbKey(s2, vmid, asid, va & -size, size));
            if (e != null) {
                if (!IoPgtable.permits(e.stage(), e.pte(), write)) {
                    return Walk.fault(F_PERMISSION, e.owner());
                }
                return Walk.translated(e.paBase() | (va & (size - 1)), e.owner());
            }
        }
        IoPgtable.Leaf leaf = IoPgtable.walk(mem, ttb, inBits, va);
        BackendDomain tableOwner = mem.owner(ttb) instanceof BackendDomain d ? d : ctxOwner;
        if (leaf == null) {
            return Walk.fault(F_TRANSLATION, tableOwner);
        }
        tlb.put(new TlbKey(s2, vmid, asid, va & -leaf.size(), leaf.size()),
                new TlbEntry(leaf.pte(), leaf.pa() & -leaf.size(), stage, tableOwner));
        if (!IoPgtable.permits(stage, leaf.pte(), write)) {
            return Walk.fault(F_PERMISSION, tableOwner);
        }
        return Walk.translated(leaf.pa(), tableOwner);
    }

    // ------------------------------------------------------------------ inspection

    /** TLB entries, as "asid=N va=0x.. size=0x.." or "vmid=N ipa=..", sorted. */
    List<String> tlbEntries() {
        TreeMap<String, String> out = new TreeMap<>();
        for (TlbKey k : tlb.keySet()) {
            String s = (k.s2() ? "vmid=" + k.vmid() + " ipa=" : "asid=" + k.asid()
                    + (k.vmid() != 0 ? " vmid=" + k.vmid() : "") + " va=") + hex(k.base())
                    + " size=" + hex(k.size());
            out.put(s, s);
        }
        return new ArrayList<>(out.values());
    }

    int tlbCount(int asid) {
        int n = 0;
        for (TlbKey k : tlb.keySet()) {
            if (!k.s2() && k.asid() == asid) {
                n++;
            }
        }
        return n;
    }

    boolean cdCached(long sid, int ssid) {
        return cdCache.containsKey(cdKey(sid, ssid));
    }

    boolean l1cdCached(long sid, int ssid) {
        return l1cdCache.containsKey(cdKey(sid, ssid >>> Cd.SPLIT));
    }

    /** Every cache's keys, for state snapshots. */
    String cacheState() {
        StringBuilder b = new StringBuilder("ste").append(new TreeMap<>(steCache).keySet());
        b.append(" cd").append(new TreeMap<>(cdCache).keySet());
        b.append(" l1cd").append(new TreeMap<>(l1cdCache)).append(" tlb").append(tlbEntries());
        return b.toString();
    }

    /** The L1 stream table descriptors in use, for state snapshots. */
    String strtabState() {
        StringBuilder b = new StringBuilder();
        Iterator<Long> it = new TreeMap<>(spans).keySet().iterator();
        while (it.hasNext()) {
            long idx = it.next();
            b.append(" l1[").append(idx).append("]=").append(hex(mem.read(strtab.pa + idx * 8)));
        }
        return b.toString();
    }
}

package ioasid.backend.vtd.impl;

import java.util.HashMap;
import java.util.Iterator;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

import ioasid.api.iommu.Access;

/**
 * The DMA-remapping hardware of one unit, as software sees it: capability registers, the root
 * table and the context tables in memory, the invalidation queue, the caches (context-cache,
 * PASID-cache, IOTLB) and the virtual-command registers of a vIOMMU.
 *
 * <p>The walk in {@link #translate} reads the raw table entries from memory and consults the
 * caches first; only invalidation descriptors executed from the queue clear the caches, so a
 * driver that forgets one leaves a stale translation behind, as on real hardware.
 *
 * <p>Everything but the VCMD registers ({@link VcmdRegisters}) is guarded by the driver's lock
 * ({@link VtdDriver}).
 */
final class DmarUnit {
    // root entry: present bit 0, context-table pointer 63:12 (lower and upper halves in SM)
    static final long ROOT_P = 1L;
    // scalable-mode context entry, 256 bits
    static final long SM_CTX_P = 1L;
    static final long SM_CTX_FPD = 1L << 1;
    static final long SM_CTX_DTE = 1L << 2;
    static final long SM_CTX_PASIDE = 1L << 3;
    static final long SM_CTX_PRE = 1L << 4;
    static final int SM_CTX_PDTS_SHIFT = 9; // 11:9
    static final long SM_CTX_RID_PASID_MASK = 0xfffffL; // qword 1, bits 19:0
    static final int SM_CTX_LONGS = 4;
    // legacy context entry, 128 bits
    static final long CTX_P = 1L;
    static final long CTX_FPD = 1L << 1;
    static final int CTX_TT_SHIFT = 2; // 3:2
    static final int CTX_TT_TRANSLATED = 0;
    static final int CTX_TT_DEV_IOTLB = 1;
    static final int CTX_TT_PASS_THROUGH = 2;
    static final int CTX_DID_SHIFT = 8; // hi 23:8
    static final int CTX_LONGS = 2;
    static final long PTR_MASK = 0xffff_ffff_ffff_f000L;

    /** What the unit did with one request; the driver names the domain from the DID. */
    record Hw(Kind kind, long phys, String fault, int did, long flptptr) {
        enum Kind {
            TRANSLATED,
            BYPASS,
            /** First-level translation of a process page table: the driver walks the mm. */
            FIRST_LEVEL,
            FAULT
        }

        static Hw fault(String reason, int did) {
            return new Hw(Kind.FAULT, -1, reason, did, 0);
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VtdBackend
            return o instanceof Hw h && h.kind == kind && h.phys == phys
                    && Objects.equals(h.fault, fault) && h.did == did && h.flptptr == flptptr;
        }

        @Override
        public int hashCode() {
            int h = Objects.hashCode(kind);
            h = 31 * h + Long.hashCode(phys);
            h = 31 * h + Objects.hashCode(fault);
            h = 31 * h + did;
            return 31 * h + Long.hashCode(flptptr);
        }

        @Override
        public String toString() {
            return "Hw[kind=" + kind + ", phys=" + phys + ", fault=" + fault + ", did=" + did
                    + ", flptptr=" + flptptr + "]";
        }
    }

    record IotlbKey(int did, int pasid, long page) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VtdBackend
            return o instanceof IotlbKey k && k.did == did && k.pasid == pasid && k.page == page;
        }

        @Override
        public int hashCode() {
            return 31 * (31 * did + pasid) + Long.hashCode(page);
        }

        @Override
        public String toString() {
            return "IotlbKey[did=" + did + ", pasid=" + pasid + ", page=" + page + "]";
        }
    }

    record IotlbEntry(long base, long size, boolean read, boolean write) {
        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VtdBackend
            return o instanceof IotlbEntry e && e.base == base && e.size == size
                    && e.read == read && e.write == write;
        }

        @Override
        public int hashCode() {
            int h = Long.hashCode(base);
            h = 31 * h + Long.hashCode(size);
            h = 31 * h + Boolean.hashCode(read);
            return 31 * h + Boolean.hashCode(write);
        }

        @Override
        public String toString() {
            return "IotlbEntry[base=" + base + ", size=" + size + ", read=" + read + ", write="
                    + write + "]";
        }
    }

    final VtdParams params;
    final long cap;
    final long ecap;
    final long vccap;
    final PhysMem mem = new PhysMem();
    final InvalidationQueue queue;
    /** The virtual-command registers, behind their own lock. */
    final VcmdRegisters vcmd;
    private final long rootPa;
    private final long[] root;

    // caches: RID -> context entry, (RID, PASID) -> PASID entry, (DID, PASID, page) -> leaf
    private final Map<Integer, long[]> contextCache = new HashMap<>();
    private final Map<Long, long[]> pasidCache = new HashMap<>();
    private final Map<IotlbKey, IotlbEntry> iotlb = new HashMap<>();
    private long iotlbHits;
    private long pasidCacheHits;
    private long devTlbInvalidations;

    DmarUnit(VtdParams params) {
        this.params = params;
        this.cap = params.cap();
        this.ecap = params.ecap();
        this.vccap = params.vccap();
        this.rootPa = mem.alloc(1);
        this.root = mem.table(rootPa);
        this.queue = new InvalidationQueue(mem, scalable(), this::execute);
        this.vcmd = new VcmdRegisters(virtualCommands());
    }

    // ------------------------------------------------------------------ registers, decoded

    boolean cachingMode() {
        return (cap & VtdParams.CAP_CM) != 0;
    }

    boolean rwbf() {
        return (cap & VtdParams.CAP_RWBF) != 0;
    }

    int domainIds() {
        return 1 << (4 + 2 * (int) (cap & VtdParams.CAP_ND_MASK));
    }

    int sllps() {
        return (int) (cap >>> VtdParams.CAP_SLLPS_SHIFT) & 0xf;
    }

    int mamv() {
        return (int) (cap >>> VtdParams.CAP_MAMV_SHIFT) & 0x3f;
    }

    int mgaw() {
        return ((int) (cap >>> VtdParams.CAP_MGAW_SHIFT) & 0x3f) + 1;
    }

    boolean coherent() {
        return (ecap & VtdParams.ECAP_C) != 0;
    }

    boolean devTlb() {
        return (ecap & VtdParams.ECAP_DT) != 0;
    }

    boolean passThrough() {
        return (ecap & VtdParams.ECAP_PT) != 0;
    }

    boolean nesting() {
        return (ecap & VtdParams.ECAP_NEST) != 0;
    }

    boolean scalable() {
        return (ecap & VtdParams.ECAP_SMTS) != 0;
    }

    boolean firstLevel() {
        return (ecap & VtdParams.ECAP_FLTS) != 0;
    }

    boolean secondLevel() {
        return (ecap & VtdParams.ECAP_SLTS) != 0;
    }

    boolean pageWalkSnoop() {
        return (ecap & VtdParams.ECAP_SMPWC) != 0;
    }

    int pss() {
        return (int) (ecap >>> VtdParams.ECAP_PSS_SHIFT) & 0x1f;
    }

    /** {@code 2 << PSS} in scalable mode with PASID support, else 0. */
    int maxPasids() {
        return scalable() && (ecap & VtdParams.ECAP_PASID) != 0 ? 2 << pss() : 0;
    }

    boolean virtualCommands() {
        return (ecap & VtdParams.ECAP_VCS) != 0 && (vccap & VtdParams.VCCAP_PAS) != 0;
    }

    // ------------------------------------------------------------------ root and context tables

    /** Where a device's context entry sits. */
    record CtxSlot(long[] table, int base, long pa, int longs) {
        long[] read() {
            long[] e = new long[longs];
            for (int i = 0; i < longs; i++) {
                e[i] = PhysMem.read(table, base + i);
            }
            return e;
        }

        /** Writes the upper words first and word 0 (with P) last. */
        void write(long[] e) {
            PhysMem.write(table, base, e[0] & ~1L);
            for (int i = longs - 1; i >= 1; i--) {
                PhysMem.write(table, base + i, e[i]);
            }
            PhysMem.write(table, base, e[0]);
        }

        @Override
        public boolean equals(Object o) {
            // written out, not generated: see "Records" in VtdBackend; arrays by identity
            return o instanceof CtxSlot s && s.table == table && s.base == base && s.pa == pa
                    && s.longs == longs;
        }

        @Override
        public int hashCode() {
            int h = Objects.hashCode(table);
            h = 31 * h + base;
            h = 31 * h + Long.hashCode(pa);
            return 31 * h + longs;
        }

        @Override
        public String toString() {
            return "CtxSlot[table=" + table + ", base=" + base + ", pa=" + pa + ", longs=" + longs
                    + "]";
        }
    }

    private int rootIndex(int rid) {
        int bus = rid >>> 8;
        int devfn = rid & 0xff;
        // scalable mode splits each root entry: lower half for devfn 0-127, upper for 128-255
        return bus * 2 + (scalable() && devfn >= 0x80 ? 1 : 0);
    }

    /** The context entry of a RID; allocates the context table when {@code allocate}. */
    CtxSlot context(int rid, boolean allocate) {
        int ri = rootIndex(rid);
        long re = PhysMem.read(root, ri);
        if ((re & ROOT_P) == 0) {
            if (!allocate) {
                return null;
            }
            long pa = mem.alloc(1);
            re = pa | ROOT_P;
            PhysMem.write(root, ri, re);
        }
        long tablePa = re & PTR_MASK;
        int devfn = rid & 0xff;
        int longs = scalable() ? SM_CTX_LONGS : CTX_LONGS;
        int index = scalable() ? devfn & 0x7f : devfn;
        return new CtxSlot(mem.table(tablePa), index * longs,
                tablePa + (long) index * longs * Long.BYTES, longs);
    }

    long rawRootEntry(int rid) {
        return PhysMem.read(root, rootIndex(rid));
    }

    static long[] smContext(long dirPa, int pdts, boolean dte, boolean paside, int ridPasid) {
        long lo = (dirPa & PTR_MASK) | (long) (pdts & 7) << SM_CTX_PDTS_SHIFT | SM_CTX_P;
        if (dte) {
            lo |= SM_CTX_DTE;
        }
        if (paside) {
            lo |= SM_CTX_PASIDE;
        }
        return new long[] {lo, ridPasid & SM_CTX_RID_PASID_MASK, 0, 0};
    }

    static long[] legacyContext(long slptptr, int tt, int did, int aw) {
        return new long[] {(slptptr & PTR_MASK) | (long) tt << CTX_TT_SHIFT | CTX_P,
            (long) (did & 0xffff) << CTX_DID_SHIFT | (aw & 7)};
    }

    static int legacyDid(long[] ctx) {
        return (int) (ctx[1] >>> CTX_DID_SHIFT) & 0xffff;
    }

    // ------------------------------------------------------------------ invalidation

    /** Executes one descriptor taken from the queue, as the unit does. */
    private void execute(Command c) {
        switch (c.op()) {
            case CC_INV:
                if (c.gran() == Command.CC_DEVICE) {
                    contextCache.remove(c.sid());
                } else if (c.gran() == Command.CC_DOMAIN && !scalable()) {
                    contextCache.values().removeIf(e -> legacyDid(e) == c.did());
                } else {
                    contextCache.clear(); // global, or domain-selective without DIDs (SM)
                }
                break;
            case IOTLB_INV:
                if (c.gran() == Command.IOTLB_GLOBAL) {
                    iotlb.clear();
                } else if (c.gran() == Command.IOTLB_DSI) {
                    iotlb.keySet().removeIf(k -> k.did() == c.did());
                } else {
                    removeRange(c.did(), -1, c.rangeStart(), c.rangeEnd());
                }
                break;
            case P_IOTLB_INV:
                if (c.gran() == Command.PIOTLB_PAGE) {
                    removeRange(c.did(), c.pasid(), c.rangeStart(), c.rangeEnd());
                } else {
                    iotlb.keySet().removeIf(k -> k.did() == c.did() && k.pasid() == c.pasid());
                }
                break;
            case PC_INV:
                if (c.gran() == Command.PC_PASID) {
                    pasidCache.entrySet().removeIf(en -> PasidEntry.did(en.getValue()) == c.did()
                            && (int) (en.getKey() & 0xfffff) == c.pasid());
                } else if (c.gran() == Command.PC_DOMAIN) {
                    pasidCache.values().removeIf(e -> PasidEntry.did(e) == c.did());
                } else {
                    pasidCache.clear();
                }
                break;
            case DEV_TLB_INV:
            case P_DEV_TLB_INV:
                devTlbInvalidations++; // the ATS caches live in the endpoints, not modelled
                break;
            default:
                break;
        }
    }

    private void removeRange(int did, int pasid, long start, long end) {
        for (Iterator<Map.Entry<IotlbKey, IotlbEntry>> it = iotlb.entrySet().iterator();
                it.hasNext();) {
            Map.Entry<IotlbKey, IotlbEntry> en = it.next();
            IotlbKey k = en.getKey();
            long last = k.page() + en.getValue().size() - 1;
            if (k.did() == did && (pasid < 0 || k.pasid() == pasid)
                    && Long.compareUnsigned(k.page(), end) <= 0
                    && Long.compareUnsigned(last, start) >= 0) {
                it.remove();
            }
        }
    }

    // ------------------------------------------------------------------ the walk

    /**
     * What the unit does with a DMA from {@code rid} with {@code pasid} (0: without PASID) to
     * {@code iova}: context (cache first), PASID directory and entry (PASID-cache first), then
     * the IOTLB and the second-level table.
     */
    Hw translate(int rid, int pasid, long iova, Access access) {
        boolean sm = scalable();
        String p = sm ? "SCT_" : "LCT_";
        long re = PhysMem.read(root, rootIndex(rid));
        if ((re & ROOT_P) == 0) {
            return Hw.fault(p + "ROOT_NOT_PRESENT: root entry of bus 0x"
                    + Integer.toHexString(rid >>> 8) + " not present", -1);
        }
        long[] ctx = contextCache.get(rid);
        if (ctx == null) {
            CtxSlot slot = context(rid, false);
            long[] e = slot.read();
            if ((e[0] & 1) == 0) {
                return Hw.fault(p + "CONTEXT_NOT_PRESENT: context entry of RID " + rid(rid)
                        + " not present", -1);
            }
            ctx = e;
            contextCache.put(rid, e);
        }
        return sm ? translateScalable(rid, ctx, pasid, iova, access)
                : translateLegacy(ctx, pasid, iova, access);
    }

    private Hw translateLegacy(long[] ctx, int pasid, long iova, Access access) {
        if (pasid != 0) {
            return Hw.fault("LCT_PASID_UNSUPPORTED: requests with PASID need scalable mode", -1);
        }
        int tt = (int) (ctx[0] >>> CTX_TT_SHIFT) & 3;
        int did = legacyDid(ctx);
        if (tt == CTX_TT_PASS_THROUGH) {
            return new Hw(Hw.Kind.BYPASS, iova, null, did, 0);
        }
        if (tt != CTX_TT_TRANSLATED && tt != CTX_TT_DEV_IOTLB) {
            return Hw.fault("LCT_TT_RESERVED: translation type " + tt, did);
        }
        return secondLevel(did, 0, ctx[0] & PTR_MASK, iova, access);
    }

    private Hw translateScalable(int rid, long[] ctx, int pasid, long iova, Access access) {
        if (pasid != 0 && (ctx[0] & SM_CTX_PASIDE) == 0) {
            return Hw.fault("SCT_PASID_DISABLED: requests with PASID are not enabled for RID "
                    + rid(rid), -1);
        }
        int p = pasid == 0 ? (int) (ctx[1] & SM_CTX_RID_PASID_MASK) : pasid;
        int pdts = (int) (ctx[0] >>> SM_CTX_PDTS_SHIFT) & 7;
        int di = p >>> PasidEntry.PDE_SHIFT;
        if (di >= 1 << (pdts + 7)) {
            return Hw.fault("SCT_PASID_OUT_OF_RANGE: PASID " + p + " beyond the directory", -1);
        }
        long key = (long) rid << 20 | p;
        long[] e = pasidCache.get(key);
        if (e != null) {
            pasidCacheHits++;
        } else {
            long[] dir = mem.table(ctx[0] & PTR_MASK);
            long de = dir == null ? 0 : PhysMem.read(dir, di);
            if (!PasidEntry.dirPresent(de)) {
                return Hw.fault("SCT_PASID_DIR_NOT_PRESENT: PASID directory entry " + di
                        + " not present", -1);
            }
            long[] table = mem.table(PasidEntry.dirTable(de));
            e = table == null ? new long[PasidEntry.LONGS]
                    : PasidEntry.read(table, p & PasidEntry.PTE_MASK);
            if (!PasidEntry.present(e)) {
                return Hw.fault("SCT_PASID_ENTRY_NOT_PRESENT: PASID entry " + p + " not present"
                        + (PasidEntry.fpd(e) ? " (fault reporting disabled by FPD)" : ""), -1);
            }
            pasidCache.put(key, e);
        }
        int did = PasidEntry.did(e);
        int pgtt = PasidEntry.pgtt(e);
        switch (pgtt) {
            case PasidEntry.PGTT_PT:
                return new Hw(Hw.Kind.BYPASS, iova, null, did, 0);
            case PasidEntry.PGTT_SL_ONLY:
                return secondLevel(did, p, PasidEntry.slptptr(e), iova, access);
            case PasidEntry.PGTT_FL_ONLY:
                return new Hw(Hw.Kind.FIRST_LEVEL, -1, null, did, PasidEntry.flptptr(e));
            case PasidEntry.PGTT_NESTED:
                return Hw.fault("SCT_NESTED_UNSUPPORTED: nested translation is not modelled", did);
            default:
                return Hw.fault("SCT_PGTT_RESERVED: PGTT " + pgtt + " in PASID entry " + p, did);
        }
    }

    private Hw secondLevel(int did, int pasid, long slptptr, long iova, Access access) {
        if (iova >>> VtdParams.ADDRESS_BITS != 0) {
            return Hw.fault("SSL_ADDRESS_WIDTH: 0x" + Long.toHexString(iova)
                    + " beyond the 48-bit address width", did);
        }
        IotlbEntry hit = iotlbLookup(did, pasid, iova);
        if (hit != null) {
            iotlbHits++;
        } else {
            SlPageTable.Leaf leaf = SlPageTable.walk(mem, slptptr, iova);
            if (leaf == null) {
                return Hw.fault("SSL_NOT_PRESENT: no second-level mapping for 0x"
                        + Long.toHexString(iova), did);
            }
            hit = new IotlbEntry(leaf.base(), leaf.size(), leaf.readable(), leaf.writable());
            iotlb.put(new IotlbKey(did, pasid, iova & ~(leaf.size() - 1)), hit);
        }
        if (access == Access.WRITE && !hit.write()) {
            return Hw.fault("SSL_WRITE_DENIED: write to read-only 0x" + Long.toHexString(iova), did);
        }
        if (access == Access.READ && !hit.read()) {
            return Hw.fault("SSL_READ_DENIED: read of write-only 0x" + Long.toHexString(iova), did);
        }
        return new Hw(Hw.Kind.TRANSLATED, hit.base() + (iova & (hit.size() - 1)), null, did, 0);
    }

    private IotlbEntry iotlbLookup(int did, int pasid, long iova) {
        for (int level = 1; level <= 3; level++) {
            long size = 1L << SlPageTable.shift(level);
            IotlbEntry e = iotlb.get(new IotlbKey(did, pasid, iova & ~(size - 1)));
            if (e != null && e.size() == size) {
                return e;
            }
        }
        return null;
    }

    static String rid(int rid) {
        return String.format("%02x:%02x.%d", rid >>> 8, (rid >>> 3) & 0x1f, rid & 7);
    }

    // ------------------------------------------------------------------ cache inspection

    int iotlbSize() {
        return iotlb.size();
    }

    boolean iotlbHolds(int did, int pasid, long iova) {
        return iotlbLookup(did, pasid, iova) != null;
    }

    long iotlbHits() {
        return iotlbHits;
    }

    long pasidCacheHits() {
        return pasidCacheHits;
    }

    boolean pasidCached(int rid, int pasid) {
        return pasidCache.containsKey((long) rid << 20 | pasid);
    }

    boolean contextCached(int rid) {
        return contextCache.containsKey(rid);
    }

    long devTlbInvalidations() {
        return devTlbInvalidations;
    }

    /** The caches' contents, for "nothing changed" checks. */
    String cacheDigest() {
        StringBuilder sb = new StringBuilder();
        new TreeMap<>(contextCache).forEach((k, v) -> sb.append("ctx ").append(k).append(' ')
                .append(java.util.Arrays.toString(v)).append(';'));
        new TreeMap<>(pasidCache).forEach((k, v) -> sb.append("pc ").append(k).append(' ')
                .append(java.util.Arrays.toString(v)).append(';'));
        iotlb.entrySet().stream().map(en -> en.getKey() + "=" + en.getValue()).sorted()
                .forEach(s -> sb.append(s).append(';'));
        return sb.toString();
    }
}

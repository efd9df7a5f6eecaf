package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Bits.get;
import static ioasid.backend.smmuv3.impl.Bits.mask;
import static ioasid.backend.smmuv3.impl.Bits.prep;

/**
 * Stream table entry layout (64 bytes, 8 dwords; arm-smmu-v3.h STRTAB_STE_*), and the L1 stream
 * table descriptor of a two-level stream table. Fields as kernel-rules.md section 2 "ARM SMMUv3"
 * gives them (S1DSS, S1CDMAX, S1FMT).
 */
final class Ste {
    static final int DWORDS = 8;
    static final int BYTES = DWORDS * 8;

    // dword 0
    static final long V = 1L;
    static final int CFG_HI = 3;
    static final int CFG_LO = 1;
    static final int CFG_ABORT = 0b000;
    static final int CFG_BYPASS = 0b100;
    static final int CFG_S1_TRANS = 0b101;
    static final int CFG_S2_TRANS = 0b110;
    static final int CFG_NESTED = 0b111;
    static final int S1FMT_HI = 5;
    static final int S1FMT_LO = 4;
    static final int S1FMT_LINEAR = 0;
    static final int S1FMT_64K_L2 = 2;
    static final long S1CTXPTR_MASK = mask(51, 6);
    static final int S1CDMAX_HI = 63;
    static final int S1CDMAX_LO = 59;

    // dword 1
    static final int S1DSS_HI = 1;
    static final int S1DSS_LO = 0;
    static final int S1DSS_TERMINATE = 0;
    static final int S1DSS_BYPASS = 1;
    static final int S1DSS_SSID0 = 2;
    static final int S1C_CACHE_WBRA = 1;
    static final int SH_ISH = 3;
    static final int SHCFG_INCOMING = 1;

    // dword 2
    static final long S2AA64 = 1L << 51;
    static final long S2PTW = 1L << 54;
    static final long S2R = 1L << 58;

    // dword 3
    static final long S2TTB_MASK = mask(51, 4);

    /** Two-level stream table: log2 of the STEs per level-2 span (STRTAB_SPLIT). */
    static final int SPLIT = 8;
    /** L1STD: Span (bits 4:0) and L2Ptr (bits 51:6). */
    static final long L1_L2PTR_MASK = mask(51, 6);

    private Ste() {
    }

    static long[] abort() {
        long[] e = new long[DWORDS];
        e[0] = V | prep(CFG_HI, CFG_LO, CFG_ABORT);
        return e;
    }

    static long[] bypass() {
        long[] e = new long[DWORDS];
        e[0] = V | prep(CFG_HI, CFG_LO, CFG_BYPASS);
        e[1] = prep(45, 44, SHCFG_INCOMING);
        return e;
    }

    /** Stage 1 through a CD table (arm_smmu_make_cdtable_ste). */
    static long[] cdTable(long cdtab, int s1fmt, int s1cdmax, int s1dss) {
        long[] e = new long[DWORDS];
        e[0] = V | prep(CFG_HI, CFG_LO, CFG_S1_TRANS) | prep(S1FMT_HI, S1FMT_LO, s1fmt)
                | (cdtab & S1CTXPTR_MASK) | prep(S1CDMAX_HI, S1CDMAX_LO, s1cdmax);
        e[1] = prep(S1DSS_HI, S1DSS_LO, s1dss) | prep(3, 2, S1C_CACHE_WBRA)
                | prep(5, 4, S1C_CACHE_WBRA) | prep(7, 6, SH_ISH);
        return e;
    }

    /** Stage 2 only, for a nesting parent (arm_smmu_make_s2_domain_ste). */
    static long[] s2(int vmid, long vtcr, long vttbr) {
        long[] e = new long[DWORDS];
        e[0] = V | prep(CFG_HI, CFG_LO, CFG_S2_TRANS);
        e[1] = prep(45, 44, SHCFG_INCOMING);
        e[2] = prep(15, 0, vmid) | prep(50, 32, vtcr) | S2AA64 | S2PTW | S2R;
        e[3] = vttbr & S2TTB_MASK;
        return e;
    }

    static boolean valid(long[] e) {
        return (e[0] & V) != 0;
    }

    static int config(long[] e) {
        return (int) get(e[0], CFG_HI, CFG_LO);
    }

    static int s1fmt(long[] e) {
        return (int) get(e[0], S1FMT_HI, S1FMT_LO);
    }

    static long s1ContextPtr(long[] e) {
        return e[0] & S1CTXPTR_MASK;
    }

    static int s1cdmax(long[] e) {
        return (int) get(e[0], S1CDMAX_HI, S1CDMAX_LO);
    }

    static int s1dss(long[] e) {
        return (int) get(e[1], S1DSS_HI, S1DSS_LO);
    }

    static int s2vmid(long[] e) {
        return (int) get(e[2], 15, 0);
    }

    static long s2vtcr(long[] e) {
        return get(e[2], 50, 32);
    }

    static long s2ttb(long[] e) {
        return e[3] & S2TTB_MASK;
    }

    static long l1Desc(long l2ptr, int span) {
        return prep(4, 0, span) | (l2ptr & L1_L2PTR_MASK);
    }
}

package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Bits.get;
import static ioasid.backend.smmuv3.impl.Bits.mask;
import static ioasid.backend.smmuv3.impl.Bits.prep;

/**
 * Context descriptor layout (64 bytes, 8 dwords; arm-smmu-v3.h CTXDESC_*), the CDs the driver
 * builds, and the L1 CD. Fields as kernel-rules.md section 2 "ARM SMMUv3" gives them (dword 0,
 * TTB0, MAIR, L1 V and L2Ptr). How CDs are written to a table is CdWriter's.
 */
final class Cd {
    static final int DWORDS = 8;
    static final int BYTES = DWORDS * 8;

    // dword 0
    static final int T0SZ_HI = 5;
    static final int T0SZ_LO = 0;
    static final int TG0_HI = 7;
    static final int TG0_LO = 6;
    static final int TG0_4K = 0;
    static final int RGN_WBWA = 1;
    static final int SH_IS = 3;
    static final long EPD0 = 1L << 14;
    static final long ENDI = 1L << 15;
    static final long EPD1 = 1L << 30;
    static final long V = 1L << 31;
    static final int IPS_HI = 34;
    static final int IPS_LO = 32;
    static final long TBI0 = 1L << 38;
    static final long AA64 = 1L << 41;
    static final long HD = 1L << 42;
    static final long HA = 1L << 43;
    static final long S = 1L << 44;
    static final long R = 1L << 45;
    static final long A = 1L << 46;
    static final long ASET = 1L << 47;
    static final int ASID_HI = 63;
    static final int ASID_LO = 48;

    // dword 1
    static final long TTB0_MASK = mask(51, 4);

    /** L1 CD: V (bit 0) and L2Ptr (bits 51:12). */
    static final long L1_V = 1L;
    static final long L1_L2PTR_MASK = mask(51, 12);
    /** log2 of the CDs in one level-2 table (CTXDESC_SPLIT): 1024 CDs, 64 KiB. */
    static final int SPLIT = 10;
    static final int L2_ENTRIES = 1 << SPLIT;
    /** The largest linear table Linux builds, log2 of its CDs (CTXDESC_LINEAR_CDMAX, 64 KiB). */
    static final int LINEAR_CDMAX = 10;

    /** io-pgtable-arm's MAIR: NC, WBRWA, DEVICE, INC_OWBRWA in attribute slots 0..3. */
    static final long IO_PGTABLE_MAIR = 0x44L | 0xffL << 8 | 0x04L << 16 | 0xf4L << 24;
    /** A CPU MAIR_EL1 for SVA contexts (the CD copies the CPU's). */
    static final long CPU_MAIR = 0x000000bbf4ff4404L;

    private Cd() {
    }

    /** IPS/PS encoding of an address size (ARM_LPAE_TCR_PS_*). */
    static int ips(int bits) {
        switch (bits) {
            case 32:
                return 0;
            case 36:
                return 1;
            case 40:
                return 2;
            case 42:
                return 3;
            case 44:
                return 4;
            case 48:
                return 5;
            case 52:
                return 6;
            default:
                throw new IllegalArgumentException("address size " + bits);
        }
    }

    /**
     * Dword 0 of a valid stage-1 CD (arm_smmu_make_s1_cd / arm_smmu_make_sva_cd).
     *
     * @param aset true for private ASIDs that do not take part in broadcast TLB maintenance
     */
    static long dword0(int vaBits, int oasBits, int asid, boolean aset, boolean tbi0) {
        return prep(T0SZ_HI, T0SZ_LO, 64 - vaBits) | prep(TG0_HI, TG0_LO, TG0_4K)
                | prep(9, 8, RGN_WBWA) | prep(11, 10, RGN_WBWA) | prep(13, 12, SH_IS) | EPD1 | V
                | prep(IPS_HI, IPS_LO, ips(oasBits)) | (tbi0 ? TBI0 : 0) | AA64 | R | A
                | (aset ? ASET : 0) | prep(ASID_HI, ASID_LO, asid);
    }

    /**
     * A stage-1 CD for an io-pgtable (arm_smmu_make_s1_cd): a private ASID (ASET), the
     * io-pgtable MAIR.
     */
    static long[] s1(int vaBits, long ttb, int oasBits, int asid) {
        long[] cd = new long[DWORDS];
        cd[0] = dword0(vaBits, oasBits, asid, true, false);
        cd[1] = ttb & TTB0_MASK;
        cd[3] = IO_PGTABLE_MAIR;
        return cd;
    }

    /**
     * An SVA CD (arm_smmu_make_sva_cd): the CPU's VA size and MAIR, TBI0, and no ASET, so the
     * context shares the CPU's broadcast TLB invalidation.
     */
    static long[] sva(long pgd, int oasBits, int asid) {
        long[] cd = new long[DWORDS];
        cd[0] = dword0(48, oasBits, asid, false, true);
        cd[1] = pgd & TTB0_MASK;
        cd[3] = CPU_MAIR;
        return cd;
    }

    static boolean valid(long d0) {
        return (d0 & V) != 0;
    }

    static int asid(long d0) {
        return (int) get(d0, ASID_HI, ASID_LO);
    }

    static long withAsid(long d0, int asid) {
        return Bits.with(d0, ASID_HI, ASID_LO, asid);
    }

    static int t0sz(long d0) {
        return (int) get(d0, T0SZ_HI, T0SZ_LO);
    }

    static long ttb0(long d1) {
        return d1 & TTB0_MASK;
    }

    static long l1Desc(long l2ptr) {
        return (l2ptr & L1_L2PTR_MASK) | L1_V;
    }
}

package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Bits.mask;

/*
 * The driver's one algorithm for changing a live STE or CD (arm_smmu_write_entry), so that a
 * domain replace does not pass through abort where the hardware allows it.
 *
 * Rules (rules.md rule 109; D25):
 *  1. The bits the SMMU uses of an entry (used()): for an STE, V; with V, Config; at stage 1 the
 *     CD-table fields of dwords 0 and 1 (and SHCFG under S1DSS=BYPASS); at stage 2 SHCFG, dword
 *     2's VMID/VTCR/flags and the S2TTB; SHCFG for bypass. For a CD, V only when V is 0, else all.
 *  2. No used bit changes: the target is written, one sync if anything changed.
 *  3. One dword holds every used change (the critical one): hitless. Unused bits take the target
 *     (sync), then the critical dword in one store (sync), then the rest (sync).
 *  4. Two or more: breaking. Dword 0 without V (sync), dwords 1-7 (sync), dword 0 (sync).
 *  5. A sync is issued only after a step that changed memory.
 *
 * Callers hold the instance lock (see Smmuv3Driver).
 */
final class EntryWriter {
    /** Where an entry lives: its memory and the invalidation that makes the SMMU re-read it. */
    interface Place {
        long read(int dword);

        void write(int dword, long value);

        /** CFGI_STE or CFGI_CD for every place, then CMD_SYNC. */
        void sync();
    }

    /** How an update went, for the caller's books and for tests. */
    enum Kind { NONE, HITLESS, BREAKING }

    private static final int N = 8;

    private EntryWriter() {
    }

    /** Rule 1, STE (arm_smmu_get_ste_used). */
    static long[] steUsed(long[] e) {
        long[] used = new long[N];
        used[0] = Ste.V;
        if (!Ste.valid(e)) {
            return used;
        }
        used[0] |= mask(Ste.CFG_HI, Ste.CFG_LO);
        long shcfg = mask(45, 44);
        switch (Ste.config(e)) {
            case Ste.CFG_BYPASS:
                used[1] |= shcfg;
                break;
            case Ste.CFG_S1_TRANS:
                used[0] |= mask(Ste.S1FMT_HI, Ste.S1FMT_LO) | Ste.S1CTXPTR_MASK
                        | mask(Ste.S1CDMAX_HI, Ste.S1CDMAX_LO);
                used[1] |= mask(7, 0); // S1DSS, S1CIR, S1COR, S1CSH
                if (Ste.s1dss(e) == Ste.S1DSS_BYPASS) {
                    used[1] |= shcfg;
                }
                break;
            case Ste.CFG_S2_TRANS:
                used[1] |= shcfg;
                used[2] |= mask(15, 0) | mask(50, 32) | Ste.S2AA64 | Ste.S2PTW | Ste.S2R;
                used[3] |= Ste.S2TTB_MASK;
                break;
            default:
                break; // abort uses V and Config only
        }
        return used;
    }

    /** Rule 1, CD (arm_smmu_get_cd_used; EPD0 is never set by this driver). */
    static long[] cdUsed(long[] e) {
        long[] used = new long[N];
        if ((e[0] & Cd.V) == 0) {
            used[0] = Cd.V;
            return used;
        }
        java.util.Arrays.fill(used, -1L);
        return used;
    }

    /** Rules 2-5: moves the entry at {@code p} to {@code target}; returns how. */
    static Kind write(Place p, long[] target, boolean ste, Runnable onSwitch) {
        long[] cur = new long[N];
        for (int i = 0; i < N; i++) {
            cur[i] = p.read(i);
        }
        long[] curUsed = ste ? steUsed(cur) : cdUsed(cur);
        long[] tgtUsed = ste ? steUsed(target) : cdUsed(target);
        long[] unusedUpdate = new long[N];
        int diff = 0;
        for (int i = 0; i < N; i++) {
            unusedUpdate[i] = (cur[i] & curUsed[i]) | (target[i] & ~curUsed[i]);
            if ((unusedUpdate[i] & tgtUsed[i]) != target[i]) {
                diff |= 1 << i;
            }
        }
        if (Integer.bitCount(diff) == 1) {
            int critical = Integer.numberOfTrailingZeros(diff);
            unusedUpdate[critical] = cur[critical];
            set(p, cur, unusedUpdate, 0, N);
            set(p, cur, target, critical, 1);
            onSwitch.run();
            set(p, cur, target, 0, N);
            return Kind.HITLESS;
        }
        if (diff != 0) {
            unusedUpdate[0] = cur[0] & ~(ste ? Ste.V : Cd.V);
            set(p, cur, unusedUpdate, 0, 1);
            set(p, cur, target, 1, N - 1);
            set(p, cur, target, 0, 1);
            onSwitch.run();
            return Kind.BREAKING;
        }
        set(p, cur, target, 0, N);
        onSwitch.run();
        return Kind.NONE;
    }

    /** Writes the dwords that differ in [from, from + n) and syncs when any did (rule 5). */
    private static void set(Place p, long[] cur, long[] want, int from, int n) {
        boolean changed = false;
        for (int i = from; i < from + n; i++) {
            if (cur[i] != want[i]) {
                p.write(i, want[i]);
                cur[i] = want[i];
                changed = true;
            }
        }
        if (changed) {
            p.sync();
        }
    }
}

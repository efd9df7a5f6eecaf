package ioasid.backend.vtd.impl;

/**
 * The scalable-mode PASID entry, 64 bytes ({@code struct pasid_entry { u64 val[8]; }}), and the
 * 8-byte PASID directory entry. Values are passed around as {@code long[8]} copies; an entry in
 * memory is written with the present bit last so the unit never sees a half-written present entry.
 */
final class PasidEntry {
    static final int LONGS = 8;
    static final int BYTES = LONGS * Long.BYTES;
    /** PASIDs per PASID table page ({@code PASID_PDE_SHIFT 6}). */
    static final int PDE_SHIFT = 6;
    static final int PTE_MASK = 0x3f;
    static final int PER_TABLE = 1 << PDE_SHIFT;

    // PGTT values
    static final int PGTT_FL_ONLY = 1;
    static final int PGTT_SL_ONLY = 2;
    static final int PGTT_NESTED = 3;
    static final int PGTT_PT = 4;

    // val[0]
    static final long P = 1L;
    static final long FPD = 1L << 1;
    static final int AW_SHIFT = 2; // 4:2
    static final int PGTT_SHIFT = 6; // 8:6
    static final long SLADE = 1L << 9;
    static final long PTR_MASK = 0xffff_ffff_ffff_f000L; // 63:12, SLPTPTR and FLPTPTR
    // val[1]
    static final long DID_MASK = 0xffffL; // 79:64
    static final long PWSNP = 1L << 23; // bit 87
    static final long PGSNP = 1L << 24; // bit 88
    // val[2]
    static final long SRE = 1L; // bit 128
    static final int FLPM_SHIFT = 2; // 131:130
    static final long WPE = 1L << 4; // bit 132
    static final long NXE = 1L << 5; // bit 133
    static final long EAFE = 1L << 7; // bit 135

    private PasidEntry() {
    }

    // ------------------------------------------------------------------ building

    /** A second-level-only entry ({@code intel_pasid_setup_second_level}). */
    static long[] secondLevel(int did, long slptptr, int aw, boolean pageWalkSnoop) {
        long[] e = new long[LONGS];
        e[0] = (slptptr & PTR_MASK) | (long) PGTT_SL_ONLY << PGTT_SHIFT | (long) aw << AW_SHIFT;
        e[1] = (did & DID_MASK) | (pageWalkSnoop ? PWSNP : 0);
        return e;
    }

    /** A first-level-only entry for a process page table ({@code intel_pasid_setup_first_level}). */
    static long[] firstLevel(int did, long flptptr, int aw, int flpm, boolean pageWalkSnoop) {
        long[] e = new long[LONGS];
        e[0] = (long) PGTT_FL_ONLY << PGTT_SHIFT | (long) aw << AW_SHIFT;
        e[1] = (did & DID_MASK) | (pageWalkSnoop ? PWSNP : 0);
        e[2] = (flptptr & PTR_MASK) | (long) (flpm & 3) << FLPM_SHIFT;
        return e;
    }

    /** A pass-through entry ({@code intel_pasid_setup_pass_through}). */
    static long[] passThrough(int did, int aw, boolean pageWalkSnoop) {
        long[] e = new long[LONGS];
        e[0] = (long) PGTT_PT << PGTT_SHIFT | (long) aw << AW_SHIFT;
        e[1] = (did & DID_MASK) | (pageWalkSnoop ? PWSNP : 0);
        return e;
    }

    /** What a torn-down entry holds: zero, or only FPD ({@code pasid_clear_entry_with_fpd}). */
    static long[] cleared(boolean keepFpd) {
        long[] e = new long[LONGS];
        e[0] = keepFpd ? FPD : 0;
        return e;
    }

    static long[] withPresent(long[] e) {
        long[] c = e.clone();
        c[0] |= P;
        return c;
    }

    // ------------------------------------------------------------------ memory

    static long[] read(long[] table, int index) {
        long[] e = new long[LONGS];
        int base = index * LONGS;
        for (int i = 0; i < LONGS; i++) {
            e[i] = PhysMem.read(table, base + i);
        }
        return e;
    }

    /** Writes an entry, word 0 (with P) last, as the driver's ordered WRITE_ONCEs do. */
    static void write(long[] table, int index, long[] e) {
        int base = index * LONGS;
        PhysMem.write(table, base, e[0] & ~P); // not present while the rest changes
        for (int i = LONGS - 1; i >= 1; i--) {
            PhysMem.write(table, base + i, e[i]);
        }
        PhysMem.write(table, base, e[0]);
    }

    // ------------------------------------------------------------------ fields

    static boolean present(long[] e) {
        return (e[0] & P) != 0;
    }

    static boolean fpd(long[] e) {
        return (e[0] & FPD) != 0;
    }

    static int aw(long[] e) {
        return (int) (e[0] >>> AW_SHIFT) & 0x7;
    }

    static int pgtt(long[] e) {
        return (int) (e[0] >>> PGTT_SHIFT) & 0x7;
    }

    static boolean slade(long[] e) {
        return (e[0] & SLADE) != 0;
    }

    static long slptptr(long[] e) {
        return e[0] & PTR_MASK;
    }

    static int did(long[] e) {
        return (int) (e[1] & DID_MASK);
    }

    static boolean pwsnp(long[] e) {
        return (e[1] & PWSNP) != 0;
    }

    static boolean pgsnp(long[] e) {
        return (e[1] & PGSNP) != 0;
    }

    static boolean sre(long[] e) {
        return (e[2] & SRE) != 0;
    }

    static int flpm(long[] e) {
        return (int) (e[2] >>> FLPM_SHIFT) & 0x3;
    }

    static boolean wpe(long[] e) {
        return (e[2] & WPE) != 0;
    }

    static boolean nxe(long[] e) {
        return (e[2] & NXE) != 0;
    }

    static boolean eafe(long[] e) {
        return (e[2] & EAFE) != 0;
    }

    static long flptptr(long[] e) {
        return e[2] & PTR_MASK;
    }

    static String pgttName(int pgtt) {
        switch (pgtt) {
            case PGTT_FL_ONLY:
                return "FL_ONLY";
            case PGTT_SL_ONLY:
                return "SL_ONLY";
            case PGTT_NESTED:
                return "NESTED";
            case PGTT_PT:
                return "PT";
            default:
                return "reserved(" + pgtt + ")";
        }
    }

    // ------------------------------------------------------------------ directory entries

    static long dirEntry(long tablePa) {
        return (tablePa & PTR_MASK) | P;
    }

    static boolean dirPresent(long de) {
        return (de & P) != 0;
    }

    static long dirTable(long de) {
        return de & PTR_MASK;
    }
}

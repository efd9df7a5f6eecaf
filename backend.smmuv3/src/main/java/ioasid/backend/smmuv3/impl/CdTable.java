package ioasid.backend.smmuv3.impl;

import static ioasid.backend.smmuv3.impl.Bits.hex;

/*
 * One master's context-descriptor table (arm_smmu_ctx_desc_cfg; kernel-rules.md section 2
 * "ARM SMMUv3"): linear when the SMMU lacks two-level CD tables (IDR0.CD2L) or the master has at
 * most 1024 contexts; otherwise an L1 table of 8-byte descriptors pointing to level-2 tables of
 * 1024 CDs (64 KiB), allocated on first use. The order in which CDs and L1 descriptors are
 * written and announced is CdWriter's.
 *
 * Callers hold the instance lock (see Smmuv3Driver).
 */
final class CdTable {
    final int s1cdmax;
    final boolean linear;
    final PhysMem.Region root;
    /** Level-2 tables by L1 index; null until first used. */
    final PhysMem.Region[] l2;

    private CdTable(int s1cdmax, boolean linear, PhysMem.Region root, int l1Entries) {
        this.s1cdmax = s1cdmax;
        this.linear = linear;
        this.root = root;
        this.l2 = linear ? null : new PhysMem.Region[l1Entries];
    }

    /** arm_smmu_alloc_cd_tables: the shape follows the SMMU's CD2L and the master's SSID bits. */
    static CdTable alloc(PhysMem mem, int s1cdmax, boolean cd2l, Object owner) {
        int contexts = 1 << s1cdmax;
        if (!cd2l || contexts <= Cd.L2_ENTRIES) {
            return new CdTable(s1cdmax, true, mem.alloc(contexts * Cd.BYTES, owner), 0);
        }
        int l1 = (contexts + Cd.L2_ENTRIES - 1) / Cd.L2_ENTRIES;
        return new CdTable(s1cdmax, false, mem.alloc(l1 * 8, owner), l1);
    }

    int s1fmt() {
        return linear ? Ste.S1FMT_LINEAR : Ste.S1FMT_64K_L2;
    }

    /** The CD's address, or -1 when its level-2 table does not exist yet. */
    long cdAddress(int ssid) {
        if (linear) {
            return root.pa + (long) ssid * Cd.BYTES;
        }
        PhysMem.Region leaf = l2[ssid >>> Cd.SPLIT];
        return leaf == null ? -1 : leaf.pa + (long) (ssid & (Cd.L2_ENTRIES - 1)) * Cd.BYTES;
    }

    /**
     * Makes the level-2 table holding {@code ssid} exist: a new one is zeroed (every CD invalid),
     * then its L1 descriptor is written.
     *
     * @return whether an L1 descriptor was written, which the SMMU must be told of
     * @throws ioasid.api.IoasidException ENOMEM when the level-2 table cannot be allocated
     */
    boolean ensureLeaf(PhysMem mem, int ssid) {
        if (cdAddress(ssid) >= 0) {
            return false;
        }
        PhysMem.Region leaf = mem.alloc(Cd.L2_ENTRIES * Cd.BYTES, null);
        int idx = ssid >>> Cd.SPLIT;
        l2[idx] = leaf;
        mem.write(root.pa + 8L * idx, Cd.l1Desc(leaf.pa));
        return true;
    }

    void free(PhysMem mem) {
        if (l2 != null) {
            for (PhysMem.Region r : l2) {
                if (r != null) {
                    mem.free(r);
                }
            }
        }
        mem.free(root);
    }

    /** The tables' non-zero words, for state snapshots. */
    void describe(StringBuilder b) {
        b.append(" cdtab@").append(hex(root.pa)).append(root.nonZero());
        if (!linear) {
            for (PhysMem.Region r : l2) {
                if (r != null) {
                    b.append(" l2@").append(hex(r.pa)).append(r.nonZero());
                }
            }
        }
    }
}

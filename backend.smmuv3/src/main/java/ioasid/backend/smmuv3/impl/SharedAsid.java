package ioasid.backend.smmuv3.impl;

import ioasid.api.iommu.ProcessAddressSpace;

/**
 * A CPU ASID the SMMU shares with a process for SVA (the kernel's mm-owned arm_smmu_ctx_desc in
 * arm_smmu_asid_xa): every SVA domain of the process uses it, counted by {@code refs}. The region
 * stands for the process's page-table root: CDs point their TTB0 at it, and a walk that reaches
 * it walks the process through {@link ProcessAddressSpace#translate}.
 */
final class SharedAsid {
    final ProcessAddressSpace mm;
    final int asid;
    final PhysMem.Region pgd;
    int refs;

    SharedAsid(ProcessAddressSpace mm, int asid, PhysMem.Region pgd) {
        this.mm = mm;
        this.asid = asid;
        this.pgd = pgd;
    }

    @Override
    public String toString() {
        return "mm asid " + asid + " refs " + refs;
    }
}

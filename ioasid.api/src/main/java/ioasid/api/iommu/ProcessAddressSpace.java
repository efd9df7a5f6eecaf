package ioasid.api.iommu;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A process address space (the kernel's {@code mm_struct}) that SVA shares with devices: the IOMMU
 * walks the CPU's page table for it. Implemented by whoever models the process.
 */
@ConsumerType
public interface ProcessAddressSpace {
    /**
     * Walks the CPU page table.
     *
     * @return the physical address, or -1 when the address is not mapped for this access
     */
    long translate(long va, Access access);

    /** The CPU's ASID for this address space; SMMUv3 shares it with the SMMU (known bug 12). */
    int asid();

    /**
     * Whether the IOMMU can walk this page table ({@code arch_pgtable_dma_compat}); SVA bind
     * refuses with EBUSY when it cannot (rule 36).
     */
    default boolean dmaCompatible() {
        return true;
    }
}

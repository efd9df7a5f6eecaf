package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

/** IOMMU domain types (rule 40). */
@ProviderType
public enum DomainType {
    /** All DMA is blocked. */
    BLOCKED("Blocked", "blocked"),
    /** DMA passes through untranslated. */
    IDENTITY("Passthrough", "identity"),
    /** A paging domain managed by its caller (VFIO, a private PASID). */
    UNMANAGED("Unmanaged", "unmanaged"),
    /** The kernel's DMA API domain, strict invalidation. */
    DMA("Translated", "DMA"),
    /** The DMA API domain with a flush queue (lazy invalidation). */
    DMA_FQ("Translated", "DMA-FQ"),
    /** Shares a process address space (SVA), attached at a PASID. */
    SVA("SVA", "sva");

    private final String display;
    private final String sysfs;

    DomainType(String display, String sysfs) {
        this.display = display;
        this.sysfs = sysfs;
    }

    /** The name {@code iommu_domain_type_str} gives. */
    public String displayName() {
        return display;
    }

    /** The name the group's sysfs {@code type} file shows and accepts. */
    public String sysfsName() {
        return sysfs;
    }

    /** Whether the domain has its own I/O page table (map and unmap work on it). */
    public boolean isPaging() {
        return this == UNMANAGED || this == DMA || this == DMA_FQ;
    }
}

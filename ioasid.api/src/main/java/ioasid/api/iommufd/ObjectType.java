package ioasid.api.iommufd;

import org.osgi.annotation.versioning.ProviderType;

/** The kinds of object an {@link Iommufd} context holds, iommufd's {@code IOMMUFD_OBJ_*}. */
@ProviderType
public enum ObjectType {
    /** An I/O address space: areas of IOVA mapped to physical memory (rules 121-126). */
    IOAS,
    /** A paging domain that follows one IOAS (rule 127). */
    HWPT_PAGING,
    /** A device bound to the context with DMA ownership claimed (rule 128). */
    DEVICE,
    /** A vIOMMU on a nesting-parent HWPT (rules 89, 129). */
    VIOMMU,
    /** A device's virtual ID in a vIOMMU (rules 90, 129). */
    VDEVICE
}

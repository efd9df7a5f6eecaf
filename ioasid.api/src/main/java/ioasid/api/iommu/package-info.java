/**
 * The IOMMU core: devices, groups, domains, DMA ownership, per-PASID attach, SVA, private-PASID
 * handles, vIOMMUs with virtual device IDs, and a translation probe that answers what the IOMMU
 * would do with a DMA right now.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.api.iommu;

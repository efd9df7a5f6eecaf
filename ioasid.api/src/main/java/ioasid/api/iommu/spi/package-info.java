/**
 * What an IOMMU backend bundle implements: one {@link ioasid.api.iommu.spi.IommuBackend} service
 * per hardware instance, with its domains (page tables) and vIOMMU hooks.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.api.iommu.spi;

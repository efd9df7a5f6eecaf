/**
 * What an IOMMU backend bundle implements: one {@link ioasid.api.iommu.spi.IommuBackend} service
 * per hardware instance, with its domains (page tables) and vIOMMU hooks. Which calls the IOMMU
 * core makes with its lock held, which it makes on the data path without it, and why none may
 * call back, is stated on {@link ioasid.api.iommu.spi.IommuBackend}.
 *
 * <p>1.1: {@code IommuBackend.replaceDev} and {@code replaceDevPasid} tell a backend the domain a
 * device or PASID leaves, so it can program a replace as its driver does; both have defaults
 * that keep a 1.0 backend working.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package ioasid.api.iommu.spi;

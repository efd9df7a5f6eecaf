/**
 * The IOMMU core: devices, groups, domains, DMA ownership, per-PASID attach, replace of a
 * group's, a device's or a PASID's domain in one step, SVA, private-PASID handles, vIOMMUs with
 * virtual device IDs, and a translation probe that answers what the IOMMU would do with a DMA
 * right now.
 *
 * <p>Errors follow one table across the package, given on
 * {@link ioasid.api.iommu.IommuService}: ENODEV for a device or backend that is not there, ENOENT
 * for a destroyed object (a freed domain, a destroyed vIOMMU, a destroyed vDevice or its
 * tombstone), EBUSY for an object in use, EINVAL for an incompatible object or argument.
 *
 * <p>1.1: {@code replaceGroupDomain}, {@code replaceDeviceDomain}, {@code replaceDevicePasid};
 * the errno table (ENOENT for destroyed objects where 1.0 answered EINVAL or ENODEV); detaching
 * a PASID that is not attached is no error.
 *
 * <p>1.2: {@code backendCount}.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package ioasid.api.iommu;

/** Read-only snapshots of the IOMMU core for operators, shells and tests. */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.api.iommu.dto;

/**
 * Read-only snapshots of the IOMMU core for operators, shells and tests.
 *
 * <p>1.1: {@code BackendDTO.faults} and {@code faultsByKind}, the IOMMU fault counters of each
 * instance, and its {@code attaches}, {@code maps} and {@code unmaps} counts.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.1.0")
package ioasid.api.iommu.dto;

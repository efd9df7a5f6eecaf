package ioasid.api.iommu.spi;

import java.util.List;

import org.osgi.annotation.versioning.ConsumerType;

import ioasid.api.iommu.Access;
import ioasid.api.iommu.DomainType;
import ioasid.api.iommu.ProcessAddressSpace;

/**
 * One IOMMU hardware instance, registered as a whiteboard service by a backend bundle (decision
 * D16: several are live at once, each serving its own devices).
 *
 * <h2>Life cycle</h2>
 * When the service appears, the IOMMU core probes its {@link #devices()}: it forms groups, gives
 * each group its default domain (rule 41) and attaches it. When the service properties change,
 * the core probes the device list again: new devices join, missing ones are released. When the
 * service goes away (its bundle stops), every group it served is blocked, every PASID detached
 * with UNBIND, every domain and vIOMMU of it dropped (decision D17); the core makes no further
 * call into it. When a backend for the same devices returns, the groups are probed again.
 *
 * <h2>Calls</h2>
 * Configuration calls (domain allocation and free, attach, detach, PASID set and remove, vIOMMU)
 * come one at a time per backend, from the core, which has already checked their arguments.
 * {@link #translate} and the page-table calls of {@link BackendDomain} may come from any thread
 * at any time. A backend must not call back into the IOMMU core from these methods.
 * A failure is reported by throwing {@link ioasid.api.IoasidException} with the kernel's errno.
 */
@ConsumerType
public interface IommuBackend {

    /** Service property (String): the instance name, unique on the platform, e.g. "smmu0". */
    String NAME = "ioasid.iommu.name";

    /** Service property (String): the vendor, "smmuv3", "vtd" or "virtio". */
    String VENDOR = "ioasid.iommu.vendor";

    IommuCaps caps();

    /** The endpoints behind this instance; names must be unique on the platform. */
    List<DeviceInfo> devices();

    /**
     * Allocates a domain.
     *
     * @param nestingParent whether the paging domain may carry vIOMMUs
     * @throws ioasid.api.IoasidException EOPNOTSUPP for a type (or nesting) the hardware cannot do
     */
    BackendDomain domainAlloc(DomainType type, boolean nestingParent);

    /**
     * Allocates an SVA domain sharing a process's page table.
     *
     * @throws ioasid.api.IoasidException EOPNOTSUPP without SVA support
     */
    BackendDomain svaDomainAlloc(ProcessAddressSpace mm);

    /**
     * Points the device's DMA without PASID at the domain (stream table entry, context entry,
     * ATTACH request). Attaching to a domain the device was attached to before must not fail: the
     * core relies on it to undo a failed switch (rule 44).
     */
    void attachDev(String device, BackendDomain domain);

    /**
     * Detaches the device from any domain, for backends without default domains (rule 44's NULL
     * domain).
     *
     * @throws ioasid.api.IoasidException EOPNOTSUPP when the hardware has no such state
     */
    void detachDev(String device);

    /** Points the device's DMA with {@code pasid} at the domain (CD, PASID entry). */
    void setDevPasid(String device, int pasid, BackendDomain domain);

    /** Clears the device's PASID entry and invalidates what the hardware cached of it. */
    void removeDevPasid(String device, int pasid, BackendDomain domain);

    /**
     * Answers what the hardware does with one DMA right now, by walking its own tables and
     * caches (stream table, context descriptors, PASID tables, page tables, IOTLB).
     *
     * @param pasid {@link ioasid.api.Ioasid#NO_PASID} for DMA without a PASID
     */
    Walk translate(String device, int pasid, long iova, Access access);

    /**
     * Builds the driver's part of a vIOMMU on a nesting-parent domain.
     *
     * @throws ioasid.api.IoasidException EOPNOTSUPP when the hardware has no vIOMMU support
     */
    BackendViommu viommuAlloc(BackendDomain nestingParent);

    /** The command or invalidation queue as issued, oldest first, for operators and tests. */
    List<String> commandLog();
}

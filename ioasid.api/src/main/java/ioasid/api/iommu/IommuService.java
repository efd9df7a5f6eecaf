package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

import ioasid.api.IoasidHandle;
import ioasid.api.iommu.dto.BackendDTO;
import ioasid.api.iommu.dto.DeviceDTO;
import ioasid.api.iommu.dto.DomainDTO;
import ioasid.api.iommu.dto.GroupDTO;
import ioasid.api.iommu.dto.PasidDTO;
import ioasid.api.iommu.dto.ViommuDTO;
import ioasid.api.iommu.spi.IotlbGather;

/**
 * The IOMMU core: the kernel's {@code iommu.c}, {@code iommu-sva.c} and iommufd vIOMMU objects
 * over the {@link ioasid.api.iommu.spi.IommuBackend} services that model the hardware.
 *
 * <p>Devices are named by strings (a PCI address, say). Every failure is an
 * {@link ioasid.api.IoasidException} with the errno the kernel rule names; a failed call leaves
 * groups, domains and tables as they were. ENODEV means an unknown device, or one whose backend
 * is away (D17).
 */
@ProviderType
public interface IommuService {

    // ---- groups and domains (rules 40-48)

    /** @throws ioasid.api.IoasidException ENODEV for an unknown device */
    IommuGroup group(String device);

    /** @throws ioasid.api.IoasidException ENOENT for an unknown group */
    IommuGroup group(int groupId);

    /** @throws ioasid.api.IoasidException ENOENT for an unknown or freed domain */
    IommuDomain domain(int domainId);

    /**
     * Allocates a caller-owned paging domain on the device's IOMMU (the kernel's
     * {@code iommu_paging_domain_alloc}, iommufd's HWPT).
     *
     * @throws ioasid.api.IoasidException ENODEV; EOPNOTSUPP when the hardware cannot (nesting)
     */
    IommuDomain domainAlloc(String device, boolean nestingParent);

    /**
     * Frees a caller-owned domain.
     *
     * @throws ioasid.api.IoasidException EINVAL for a default or blocking domain or one already
     *     freed; EBUSY while a group, a PASID or a vIOMMU still uses it (where the kernel would
     *     leave a stale pointer, known bug 1)
     */
    void domainFree(IommuDomain domain);

    /**
     * Maps {@code [iova, iova + size)} to {@code paddr} with the largest page sizes alignment
     * allows (rule 57).
     *
     * @throws ioasid.api.IoasidException EINVAL for a non-paging domain, misalignment to the
     *     smallest page size, a zero size, an overflow or a range past the aperture; ERANGE for a
     *     physical address past the IOMMU's output size; EEXIST when part of it is mapped (then
     *     nothing of it stays mapped); ENODEV for a dead domain
     */
    void map(IommuDomain domain, long iova, long paddr, long size, int prot);

    /**
     * Unmaps and syncs the IOTLB (rule 58).
     *
     * @return bytes unmapped, stopping at the first hole; 0 when misaligned or not paging
     * @throws ioasid.api.IoasidException ENODEV for a dead domain
     */
    long unmap(IommuDomain domain, long iova, long size);

    /** Unmaps into {@code gather} without syncing; the caller syncs later (rule 58). */
    long unmapFast(IommuDomain domain, long iova, long size, IotlbGather gather);

    /** Invalidates what {@code gather} holds and resets it. */
    void iotlbSync(IommuDomain domain, IotlbGather gather);

    void flushIotlbAll(IommuDomain domain);

    /**
     * @return the physical address; {@code iova} itself for an IDENTITY domain, 0 for BLOCKED
     *     or an unmapped address (rule 56)
     */
    long iovaToPhys(IommuDomain domain, long iova);

    /**
     * Attaches a caller-owned domain to a group: every device switches, or none does (D18).
     *
     * @throws ioasid.api.IoasidException EBUSY when the group is on another caller-owned domain
     *     (rule 46); EINVAL for a domain of another IOMMU or of a type callers do not attach;
     *     ENODEV
     */
    void attachGroup(IommuDomain domain, IommuGroup group);

    /**
     * Returns the group to its core domain: blocking if owned, else default (rules 45, 48).
     *
     * @throws ioasid.api.IoasidException EINVAL when the group is not on {@code domain}
     */
    void detachGroup(IommuDomain domain, IommuGroup group);

    /** Attaches the single device of a group (rule 47). @throws ioasid.api.IoasidException EINVAL for a multi-device group */
    void attachDevice(IommuDomain domain, String device);

    /** Detaches the single device of a group (rule 47). */
    void detachDevice(IommuDomain domain, String device);

    /**
     * Changes a group's default domain type, like writing the sysfs {@code type} file (rule 42).
     *
     * @param type IDENTITY, DMA or DMA_FQ, or null for "auto" (the platform default)
     * @param privileged whether the caller holds CAP_SYS_ADMIN and CAP_SYS_RAWIO
     * @throws ioasid.api.IoasidException EACCES unprivileged; EINVAL for another type or one the
     *     hardware lacks; EPERM when the group is owned or in use by a driver
     */
    void setDefaultDomainType(IommuGroup group, DomainType type, boolean privileged);

    // ---- DMA ownership (rules 49-55)

    /**
     * Claims a group for user-space DMA: it moves to the blocking domain, allocated on first use
     * (rule 49).
     *
     * @throws ioasid.api.IoasidException EINVAL for a null owner or when no blocking domain can be
     *     made (known bug 2); EPERM when owned or used by a driver; EBUSY when on a caller domain
     *     or PASIDs are attached
     */
    void claimGroup(IommuGroup group, Object owner);

    /**
     * Releases a group's ownership and returns it to its default domain (rule 50).
     *
     * @throws ioasid.api.IoasidException EINVAL when not claimed; EBUSY while PASIDs are attached
     */
    void releaseGroup(IommuGroup group);

    /**
     * Claims ownership per device: the same owner counts up, another is refused (rule 52).
     *
     * @throws ioasid.api.IoasidException EINVAL for a null owner; ENODEV; EPERM for another owner
     */
    void claimDevice(String device, Object owner);

    /** Drops one device claim; the last one releases the group (rule 52). */
    void releaseDevice(String device);

    /**
     * A kernel driver binds to the device and uses the default domain (rule 53).
     *
     * @throws ioasid.api.IoasidException EBUSY when the group is owned, on another domain or has
     *     PASIDs attached
     */
    void useDefaultDomain(String device);

    /** The kernel driver unbinds. @throws ioasid.api.IoasidException EINVAL when not in use */
    void unuseDefaultDomain(String device);

    /** Racy, for status reporting only (rule 54). */
    boolean dmaOwnerClaimed(IommuGroup group);

    // ---- PASIDs (rules 33-39)

    /** min(device PASID capability, IOMMU PASID count); 0 without PASID support. */
    int maxPasids(String device);

    /**
     * Allocates a PASID for the device from the IOASID core, in {@code [1, maxPasids - 1]}
     * (rule 34, known bug 9).
     *
     * @throws ioasid.api.IoasidException ENODEV; EINVAL without PASID support; ENOSPC
     */
    IoasidHandle allocGlobalPasid(String device);

    /** Frees a PASID from {@link #allocGlobalPasid}; one still attached is detached first. */
    void freeGlobalPasid(IoasidHandle pasid);

    /**
     * Attaches a domain to a device's PASID, on every device of its group (rule 38). The core
     * holds a reference on the PASID while attached and sends BIND at its first device, UNBIND
     * after its last (S6).
     *
     * @throws ioasid.api.IoasidException EOPNOTSUPP for a domain type that cannot be attached
     *     per PASID; ENODEV; EINVAL for a domain of another IOMMU, PASID 0, a PASID past a group
     *     device's limit, or a stale PASID; EBUSY when the PASID is attached already
     */
    void attachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid);

    /**
     * @throws ioasid.api.IoasidException EINVAL when the PASID is not attached to that domain
     *     (where the kernel WARNs, rule 39)
     */
    void detachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid);

    // ---- SVA (rules 36-37)

    /**
     * Binds a process address space to a device at the process's PASID, allocated on first bind
     * and reused by later ones; an SVA domain of the process is shared when it can be.
     *
     * @throws ioasid.api.IoasidException ENODEV; EOVERFLOW when the process's PASID is past the
     *     device's limit; ENOSPC when no PASID is left; EBUSY when its page table cannot be walked
     *     by the IOMMU; EOPNOTSUPP without SVA support; EINVAL when the hardware cannot take this
     *     bind: on SMMUv3, a CPU ASID too wide or shared with another process, or a device whose
     *     stream has no context-descriptor table (a stage-2 caller domain is attached)
     */
    SvaHandle svaBind(String device, ProcessAddressSpace mm);

    /** @throws ioasid.api.IoasidException EINVAL for a handle already unbound */
    void svaUnbind(SvaHandle handle);

    /**
     * The process exited: its PASID is released (rule 36: not at unbind).
     *
     * @throws ioasid.api.IoasidException EBUSY while binds remain
     */
    void mmRelease(ProcessAddressSpace mm);

    // ---- private PASIDs (seed 002, rule 104)

    /**
     * Allocates a PASID on the device with a private page table, attached and ready to map.
     *
     * @throws ioasid.api.IoasidException ENODEV; EINVAL without PASID support; ENOSPC
     */
    PrivatePasid privatePasidAlloc(String device);

    /** Detaches and frees it: its domain, its PASID. @throws ioasid.api.IoasidException ENODEV when stale */
    void privatePasidFree(PrivatePasid pasid);

    // ---- vIOMMU and vDevices (rules 89-94)

    /**
     * @throws ioasid.api.IoasidException ENODEV; EINVAL for a domain that is not a nesting parent
     *     or not on the device's IOMMU; EOPNOTSUPP without vIOMMU support
     */
    Viommu viommuAlloc(String device, IommuDomain nestingParent);

    /** @throws ioasid.api.IoasidException EBUSY while it has vDevices (rule 92); EINVAL stale */
    void viommuDestroy(Viommu viommu);

    /** Destroys its vDevices, then the vIOMMU itself (rule 94's teardown). */
    void viommuTeardown(Viommu viommu);

    /**
     * Binds a device to a virtual ID in a vIOMMU, both ways, by compare-and-exchange (rule 90).
     *
     * @throws ioasid.api.IoasidException EINVAL for a device behind another IOMMU instance or a
     *     stale vIOMMU; ENOENT for a device going away; EEXIST when the device has a vDevice or the
     *     virtual ID is taken; what the driver's init threw
     */
    Vdevice vdeviceAlloc(Viommu viommu, String device, long virtId);

    /** @throws ioasid.api.IoasidException EINVAL stale */
    void vdeviceDestroy(Vdevice vdevice);

    /** @throws ioasid.api.IoasidException ENOENT when no device has the ID */
    String vdeviceFind(Viommu viommu, long virtId);

    /** @throws ioasid.api.IoasidException ENOENT when the device has no ID in the vIOMMU */
    long vdeviceId(Viommu viommu, String device);

    // ---- the translation probe (D18)

    /**
     * What the IOMMU would do with a DMA from the device, with {@code pasid} (0 for none), to
     * {@code iova}, right now.
     *
     * @throws ioasid.api.IoasidException ENODEV for an unknown device; EINVAL for a PASID that
     *     is negative or wider than 20 bits
     */
    Translation translate(String device, int pasid, long iova, Access access);

    // ---- snapshots

    BackendDTO[] backends();

    DeviceDTO[] devices();

    GroupDTO[] groups();

    DomainDTO[] domains();

    PasidDTO[] pasids();

    ViommuDTO[] viommus();

    /**
     * The last {@code max} commands a backend issued, oldest first.
     *
     * @throws ioasid.api.IoasidException ENODEV for an unknown backend; EINVAL for a negative max
     */
    String[] commandLog(String backend, int max);
}

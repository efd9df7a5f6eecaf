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
 * groups, domains and tables as they were.
 *
 * <h2>Errors: gone, busy, incompatible (decision D20)</h2>
 * One errno per situation, iommufd's where iommufd defines it. The methods below name the cases
 * particular to them; these hold for every method:
 * <table>
 * <caption>The errno of each situation</caption>
 * <tr><th>situation</th><th>errno</th></tr>
 * <tr><td>an unknown device name, or a device whose backend is away (D17); a domain or group
 *     whose backend left</td><td>ENODEV</td></tr>
 * <tr><td>a destroyed object: a domain freed by {@link #domainFree}, a destroyed or torn-down
 *     vIOMMU (or one whose backend left), a destroyed vDevice or a vDevice tombstone (its device
 *     went away, D22); an unknown domain or group ID</td><td>ENOENT</td></tr>
 * <tr><td>an object in use: a domain still attached or carrying a vIOMMU, a vIOMMU with
 *     vDevices, a PASID attached already, a group on another caller domain (attach, not
 *     replace), a device or virtual ID with a vDevice (EEXIST)</td><td>EBUSY (EEXIST)</td></tr>
 * <tr><td>an incompatible object or argument: null, a handle of another IOMMU core, a domain of
 *     another IOMMU or of a role the call does not take (default, blocking, SVA, private), a
 *     domain that is not a nesting parent, PASID 0 or one past a device's limit, a stale or
 *     foreign PASID handle, a PASID the call needs attached that is not</td><td>EINVAL</td></tr>
 * <tr><td>a replace on a group whose DMA the caller has not claimed (D23)</td><td>EPERM</td></tr>
 * </table>
 * Handles iommufd has no object for keep their own answers: a stale private PASID is ENODEV, an
 * unbound SVA handle or a freed global PASID EINVAL. Detaching a PASID that is not attached at
 * all is no error (D21).
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
     * @throws ioasid.api.IoasidException EINVAL for a default or blocking domain; ENOENT for one
     *     already freed; ENODEV when its backend left; EBUSY while a group, a PASID or a vIOMMU
     *     still uses it (where the kernel would leave a stale pointer, known bug 1)
     */
    void domainFree(IommuDomain domain);

    /**
     * Maps {@code [iova, iova + size)} to {@code paddr} with the largest page sizes alignment
     * allows (rule 57).
     *
     * @throws ioasid.api.IoasidException EINVAL for a non-paging domain, misalignment to the
     *     smallest page size, a zero size, an overflow or a range past the aperture; ERANGE for a
     *     physical address past the IOMMU's output size; EEXIST when part of it is mapped (then
     *     nothing of it stays mapped); ENOENT for a freed domain, ENODEV for one whose backend
     *     left
     */
    void map(IommuDomain domain, long iova, long paddr, long size, int prot);

    /**
     * Unmaps and syncs the IOTLB (rule 58).
     *
     * @return bytes unmapped, stopping at the first hole; 0 when misaligned or not paging
     * @throws ioasid.api.IoasidException ENOENT for a freed domain, ENODEV for one whose backend
     *     left
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
     * Attaching the domain the group is on already does nothing (rule 44).
     *
     * @throws ioasid.api.IoasidException EBUSY when the group is on another caller-owned domain
     *     (rule 46: use {@link #replaceGroupDomain}); EINVAL for a domain of another IOMMU or of a
     *     type callers do not attach; ENOENT for a freed domain; ENODEV
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
     * Moves a group from the domain it is on to {@code domain} in one step, without passing
     * through the blocking domain: the kernel's {@code iommu_group_replace_domain}, which iommufd
     * uses to change a device's HWPT. Unlike {@link #attachGroup}, the group may be on another
     * caller domain already. Each device's backend is told the domain it leaves
     * ({@link ioasid.api.iommu.spi.IommuBackend#replaceDev}), so hardware that can switch
     * without a window of dropped DMA does.
     *
     * <ul>
     * <li>The group's DMA must be claimed ({@link #claimGroup} or {@link #claimDevice}): a group a
     * kernel driver uses keeps its default domain (D23).
     * <li>Replacing with the domain the group is on does nothing and cannot fail (rule 44).
     * <li>Every device switches, or none does: a backend that fails puts the devices already moved
     * back on the old domain, which stays attached, and nothing changes (rule 44, D18). During the
     * switch a DMA reaches the old domain or the new one, never a third.
     * <li>PASID attachments of the group are not touched.
     * </ul>
     *
     * @param group the group, whose argument order follows the kernel's function
     * @param domain a live caller domain of the group's IOMMU
     * @throws ioasid.api.IoasidException EPERM when the group's DMA is not claimed; EINVAL for a
     *     null or foreign argument, a domain of another IOMMU or not a caller domain; ENOENT for
     *     a freed domain; ENODEV when the group's or the domain's backend left; what the backend
     *     threw (the old domain still attached)
     */
    void replaceGroupDomain(IommuGroup group, IommuDomain domain);

    /**
     * {@link #replaceGroupDomain} for the single device of a group, as {@link #attachDevice} is
     * {@link #attachGroup} for one (rule 47).
     *
     * @throws ioasid.api.IoasidException EINVAL for a device that shares its group; otherwise as
     *     {@link #replaceGroupDomain}
     */
    void replaceDeviceDomain(String device, IommuDomain domain);

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
     * Detaches a domain from a device's PASID, on every device of its group (rule 39). A PASID
     * that is not attached in the device's group at all is no error and changes nothing, as
     * iommufd's detach tolerates it (D21).
     *
     * @throws ioasid.api.IoasidException EINVAL when the PASID is attached to another domain
     *     (where the kernel WARNs, rule 39) or belongs to an SVA bind or a private PASID, or for a
     *     null or foreign handle; ENODEV
     */
    void detachDevicePasid(IommuDomain domain, String device, IoasidHandle pasid);

    /**
     * Moves an attached PASID of a device's group from its domain to {@code domain} in one step:
     * the kernel's {@code iommu_replace_device_pasid}. Each device's backend gets the old domain
     * with the new one ({@link ioasid.api.iommu.spi.IommuBackend#replaceDevPasid}) and rewrites
     * the PASID's entry in place where its hardware can.
     *
     * <ul>
     * <li>The PASID must be attached by {@link #attachDevicePasid}; it stays attached, so no
     * BIND or UNBIND is sent and the core's reference on it is kept.
     * <li>Replacing with the domain the PASID is on does nothing.
     * <li>Every device of the group switches, or none does: when a backend fails, the devices
     * already switched go back to the old domain, which stays attached (rule 38's undo).
     * </ul>
     *
     * @throws ioasid.api.IoasidException EINVAL when the PASID is not attached in the group, is
     *     held by an SVA bind or a private PASID, for PASID 0, a stale or foreign handle, a domain
     *     of another IOMMU or of a role callers do not attach per PASID; EOPNOTSUPP for a blocking
     *     domain; ENOENT for a freed domain; ENODEV; what the backend threw (the old domain still
     *     attached)
     */
    void replaceDevicePasid(IommuDomain domain, String device, IoasidHandle pasid);

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
     * @throws ioasid.api.IoasidException ENODEV; ENOENT for a freed parent (iommufd's lookup of
     *     the parent HWPT); EINVAL for a domain that is not a nesting parent or not on the
     *     device's IOMMU; EOPNOTSUPP without vIOMMU support
     */
    Viommu viommuAlloc(String device, IommuDomain nestingParent);

    /**
     * @throws ioasid.api.IoasidException EBUSY while it has vDevices (rule 92); ENOENT once
     *     destroyed; EINVAL for null or another core's
     */
    void viommuDestroy(Viommu viommu);

    /**
     * Destroys its vDevices, then the vIOMMU itself (rule 94's teardown).
     *
     * @throws ioasid.api.IoasidException ENOENT once destroyed; EINVAL for null or another core's
     */
    void viommuTeardown(Viommu viommu);

    /**
     * Binds a device to a virtual ID in a vIOMMU, both ways, by compare-and-exchange (rule 90).
     *
     * @throws ioasid.api.IoasidException ENOENT for a destroyed vIOMMU or a device going away;
     *     EINVAL for a device behind another IOMMU instance, or a null or foreign vIOMMU; EEXIST
     *     when the device has a vDevice or the virtual ID is taken; what the driver's init threw
     */
    Vdevice vdeviceAlloc(Viommu viommu, String device, long virtId);

    /**
     * Destroys a vDevice and frees its virtual ID. When its device goes away first (its backend
     * no longer lists it), the core destroys the vDevice itself and the handle is left as a
     * tombstone: {@link Vdevice#live()} is false and destroying it answers ENOENT, as iommufd
     * answers for a vDevice ID its idev's destruction tombstoned (D22).
     *
     * @throws ioasid.api.IoasidException ENOENT for a destroyed vDevice or a tombstone; EINVAL for
     *     null or another core's
     */
    void vdeviceDestroy(Vdevice vdevice);

    /**
     * @throws ioasid.api.IoasidException ENOENT when no device has the ID, or the vIOMMU is
     *     destroyed
     */
    String vdeviceFind(Viommu viommu, long virtId);

    /**
     * @throws ioasid.api.IoasidException ENOENT when the device has no ID in the vIOMMU, or the
     *     vIOMMU is destroyed
     */
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

    /**
     * How many backends the core has taken in, FAILED ones included: the length of
     * {@link #backends()}, without building a snapshot of each. A caller waiting for instances
     * to come up polls this; its cost does not grow with the number of backends.
     *
     * @since 1.2
     */
    default int backendCount() {
        return backends().length;
    }

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

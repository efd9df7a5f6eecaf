package ioasid.api.iommufd;

import org.osgi.annotation.versioning.ProviderType;

import ioasid.api.IoasidHandle;

/**
 * One iommufd context: the object table of one open {@code /dev/iommu}. Objects are named by
 * small integer IDs, lowest free first from 1 (rule 120); each call names the objects it works on
 * by ID, as iommufd's ioctls do.
 *
 * <p>An <b>IOAS</b> is an I/O address space: areas of IOVA mapped to physical memory, allowed
 * and reserved ranges, and an alignment (rules 121-126). A <b>HWPT</b> is a paging domain of the
 * IOMMU core that follows one IOAS: every map and unmap of the IOAS is applied to each of its
 * HWPTs, and a HWPT that refuses a map makes the whole map fail (rule 121, D30). A <b>device</b>
 * is bound with its DMA ownership claimed, then attached to a HWPT, or to an IOAS, where a
 * compatible HWPT is found or made (rule 128). <b>vIOMMUs</b> and <b>vDevices</b> live in the
 * same table (rule 129).
 *
 * <p>Addresses and lengths are unsigned 64-bit numbers in a {@code long}. The errnos are those of
 * the package's table ({@link ioasid.api.iommufd}); each method lists its own. A failed call
 * changes nothing.
 *
 * <p>Thread-safe: calls on one context are serialized; contexts are independent of each other.
 */
@ProviderType
public interface Iommufd extends AutoCloseable {

    /** {@link #ioasMap} flag: map at the IOVA given instead of allocating one. */
    int MAP_FIXED_IOVA = 1;
    /** {@link #ioasMap} flag: the device may write. */
    int MAP_WRITEABLE = 1 << 1;
    /** {@link #ioasMap} flag: the device may read. */
    int MAP_READABLE = 1 << 2;

    /** {@link #hwptAlloc} flag: the HWPT may carry vIOMMUs. */
    int HWPT_ALLOC_NEST_PARENT = 1;
    /** {@link #hwptAlloc} flag: dirty tracking, which the model lacks (EOPNOTSUPP). */
    int HWPT_ALLOC_DIRTY_TRACKING = 1 << 1;

    /** The label the context was opened with. */
    String label();

    /**
     * Destroys every object, leaves first, in ID order, as closing the file does (rule 120):
     * vDevices and devices (detached and unbound), then HWPTs, vIOMMUs and IOASes as they lose
     * their users. Closing twice does nothing. Every later call fails with ENODEV.
     */
    @Override
    void close();

    // ---- the object table (rule 120)

    /**
     * Destroys one object ({@code IOMMU_DESTROY}).
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown, destroyed or tombstoned ID; EBUSY
     *     while it is in use (an IOAS with HWPTs, a HWPT with devices, PASIDs or vIOMMUs, a
     *     vIOMMU with vDevices) and always for a bound device, which goes by {@link
     *     #deviceUnbind}
     */
    void destroy(int id);

    /** The objects, by ID. */
    IommufdObjectDTO[] objects();

    // ---- IOAS (rules 121-126)

    /** Allocates an empty IOAS: no area, no HWPT, alignment 1, every IOVA allowed. */
    int ioasAlloc();

    /**
     * Maps {@code length} bytes of physical memory from {@code paddr} into the IOAS and into each
     * of its HWPTs ({@code IOMMU_IOAS_MAP}). With {@link #MAP_FIXED_IOVA} the area starts at
     * {@code iova}; otherwise the lowest free IOVA that fits the allowed ranges, avoids the
     * reserved ones and keeps the alignment {@code paddr} and {@code length} allow is taken
     * (rule 122). The area keeps {@code paddr}'s offset in its page.
     *
     * @param flags {@link #MAP_READABLE} and/or {@link #MAP_WRITEABLE}, and maybe
     *     {@link #MAP_FIXED_IOVA}
     * @return the IOVA of the new area
     * @throws ioasid.api.IoasidException ENOENT for an unknown IOAS; EOPNOTSUPP for unknown flags;
     *     EOVERFLOW for an {@code iova} or {@code length} of 2<sup>64</sup>-1 or a range that
     *     wraps; EINVAL without READABLE or WRITEABLE, for a zero length, an IOVA, length or
     *     address not aligned to the IOAS alignment, or a fixed IOVA in a reserved range; EEXIST
     *     when a fixed range overlaps an area; ENOSPC when no range fits; what a HWPT's domain
     *     answers when it refuses the map (EINVAL past its aperture, D30)
     */
    long ioasMap(int ioasId, long iova, long paddr, long length, int flags);

    /**
     * Maps the physical memory behind {@code [srcIova, srcIova + length)} of one IOAS again,
     * into another IOAS or the same one ({@code IOMMU_IOAS_COPY}, rule 126): the same pages at a
     * new IOVA, fixed or allocated as in {@link #ioasMap}.
     *
     * @return the IOVA of the copy
     * @throws ioasid.api.IoasidException ENOENT for an unknown IOAS or when the source range is
     *     not covered by areas without a gap; EPERM for a writable copy of pages mapped read-only;
     *     otherwise as {@link #ioasMap}
     */
    long ioasCopy(int dstIoasId, long dstIova, int srcIoasId, long srcIova, long length,
            int flags);

    /**
     * Unmaps the areas that lie entirely in {@code [iova, iova + length)} from the IOAS and its
     * HWPTs ({@code IOMMU_IOAS_UNMAP}, rule 123). {@code (0, 2^64-1)} unmaps everything and
     * succeeds on an empty IOAS. An area is never split: a range that cuts one changes nothing
     * (D32).
     *
     * @return the bytes unmapped
     * @throws ioasid.api.IoasidException ENOENT for an unknown IOAS, a range with no area in it,
     *     or one that splits an area; EINVAL for a zero length; EOVERFLOW for a range that wraps or
     *     an IOVA or length of 2<sup>64</sup>-1 (other than unmap-all)
     */
    long ioasUnmap(int ioasId, long iova, long length);

    /**
     * The IOVA ranges a map may use: the holes between the reserved ranges
     * ({@code IOMMU_IOAS_IOVA_RANGES}, rule 124).
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown IOAS
     */
    IovaRange[] ioasIovaRanges(int ioasId);

    /**
     * What every IOVA, length and address mapped must be a multiple of: the largest smallest page
     * size of its HWPTs, 1 without HWPT (rule 125).
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown IOAS
     */
    long ioasIovaAlignment(int ioasId);

    /**
     * Replaces the ranges IOVA allocation may use ({@code IOMMU_IOAS_ALLOW_IOVAS}, rule 124); no
     * range allows every IOVA. Maps at a fixed IOVA are not restricted by them.
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown IOAS; EINVAL for a range whose
     *     start is not below its last IOVA or ranges that overlap; EEXIST when one intersects a
     *     reserved range (iommufd's EADDRINUSE, D31)
     */
    void ioasAllowIovas(int ioasId, IovaRange... allowed);

    /**
     * Reserves {@code [start, start + length)}: no map may use it (the selftests'
     * {@code IOMMU_TEST_OP_ADD_RESERVED}; what a VMM does for a window such as an MSI doorbell).
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown IOAS; EINVAL for a zero length;
     *     EOVERFLOW for a range that wraps; EEXIST when it intersects an area or an allowed range
     *     (iommufd's EADDRINUSE, D31)
     */
    void ioasReserveIova(int ioasId, long start, long length);

    /**
     * The areas, by IOVA.
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown IOAS
     */
    IoasAreaDTO[] ioasAreas(int ioasId);

    // ---- HWPTs (rule 127)

    /**
     * Allocates a paging HWPT for the device's IOMMU that follows the IOAS
     * ({@code IOMMU_HWPT_ALLOC}): it is filled with the IOAS's areas now and kept in sync. It
     * stays until destroyed, attached or not.
     *
     * @param ptId the IOAS
     * @param flags 0 or {@link #HWPT_ALLOC_NEST_PARENT}
     * @throws ioasid.api.IoasidException ENOENT for an unknown device or {@code ptId};
     *     EOPNOTSUPP for unknown flags, dirty tracking, a HWPT as {@code ptId} (nesting, which
     *     the model lacks) or a nesting parent the hardware cannot make; EINVAL for a {@code ptId}
     *     that is neither, or a domain whose page size is above 4 KiB; what filling it answers
     */
    int hwptAlloc(int deviceId, int ptId, int flags);

    // ---- devices (rule 128)

    /**
     * Binds a device to the context, claiming its DMA ownership for this context: its group moves
     * to the blocking domain until a device of it is attached.
     *
     * @return the device object's ID
     * @throws ioasid.api.IoasidException ENODEV for an unknown device; EBUSY when this context has
     *     bound it already; EPERM when another owner or a kernel driver holds it
     */
    int deviceBind(String device);

    /**
     * Unbinds a device: detaches its PASIDs and its DMA without PASID, destroys its vDevice,
     * whose ID becomes a tombstone (rule 129), and releases its DMA ownership (D34).
     *
     * @throws ioasid.api.IoasidException ENOENT for an ID that is not a bound device
     */
    void deviceUnbind(int deviceId);

    /**
     * Attaches the device's DMA without PASID to a HWPT, or to an IOAS: to the first HWPT that
     * attach made for that IOAS and that accepts the device, else to a new one (rule 128). The
     * group is attached with its first device; its other devices must attach to the same HWPT.
     *
     * @param ptId a HWPT or an IOAS
     * @return the HWPT attached to
     * @throws ioasid.api.IoasidException ENOENT for an unknown device or {@code ptId}; EBUSY when
     *     the device is attached already (replace it); EINVAL when {@code ptId} is neither HWPT
     *     nor IOAS, when its group is attached to another HWPT, or when the domain cannot take
     *     the device; what making and filling a new HWPT answers
     */
    int deviceAttach(int deviceId, int ptId);

    /**
     * Moves the device's group, in one step, to another HWPT or IOAS (found or made as by {@link
     * #deviceAttach}); to the HWPT it is on, nothing happens. A failure leaves it where it was. A
     * HWPT made by attach that loses its last device is destroyed.
     *
     * @return the HWPT now attached
     * @throws ioasid.api.IoasidException ENOENT for an unknown device or {@code ptId}; EINVAL when
     *     the device is not attached or the target cannot take it
     */
    int deviceReplace(int deviceId, int ptId);

    /**
     * Detaches the device's DMA without PASID: its group goes back to blocked when its last
     * attached device detaches. A HWPT made by attach that loses its last device is destroyed. A
     * device not attached is left alone, as iommufd does (rule 130).
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown device
     */
    void deviceDetach(int deviceId);

    /**
     * Attaches the device's DMA with {@code pasid} to a HWPT or IOAS (found or made as by {@link
     * #deviceAttach}). The PASID comes from the IOASID core ({@link
     * ioasid.api.iommu.IommuService#allocGlobalPasid}, D35).
     *
     * @return the HWPT attached to
     * @throws ioasid.api.IoasidException ENOENT for an unknown device or {@code ptId}; EBUSY when
     *     the PASID is attached already (replace it); otherwise as {@link
     *     ioasid.api.iommu.IommuService#attachDevicePasid}
     */
    int devicePasidAttach(int deviceId, IoasidHandle pasid, int ptId);

    /**
     * Moves the device's PASID to another HWPT or IOAS in one step; a failure leaves it where it
     * was.
     *
     * @return the HWPT now attached
     * @throws ioasid.api.IoasidException ENOENT for an unknown device or {@code ptId}; EINVAL when
     *     the PASID is not attached or the target cannot take it
     */
    int devicePasidReplace(int deviceId, IoasidHandle pasid, int ptId);

    /**
     * Detaches the device's PASID; a PASID not attached is left alone, as iommufd does (rule
     * 130).
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown device
     */
    void devicePasidDetach(int deviceId, IoasidHandle pasid);

    // ---- vIOMMUs and vDevices (rules 89-94, 129)

    /**
     * Allocates a vIOMMU for the device's IOMMU on a nesting-parent HWPT, which it keeps from
     * being destroyed ({@code IOMMU_VIOMMU_ALLOC}).
     *
     * @throws ioasid.api.IoasidException ENOENT for an unknown device or HWPT; EINVAL for a HWPT
     *     that is not a nesting parent or not on the device's IOMMU; EOPNOTSUPP without vIOMMU
     *     support
     */
    int viommuAlloc(int deviceId, int hwptId);

    /**
     * Gives the device a virtual ID in the vIOMMU ({@code IOMMU_VDEVICE_ALLOC}). When the device
     * is unbound its vDevice goes, and its ID answers ENOENT without being handed out again
     * (a tombstone, rule 129).
     *
     * @param virtId unsigned
     * @throws ioasid.api.IoasidException ENOENT for an unknown vIOMMU or device; EINVAL for a
     *     device behind another IOMMU instance; EEXIST when the device has a vDevice or the
     *     virtual ID is taken
     */
    int vdeviceAlloc(int viommuId, int deviceId, long virtId);
}

/**
 * The iommufd layer: I/O address spaces (IOAS) that several paging domains (HWPTs) follow,
 * devices bound with DMA ownership and attached to an IOAS or a HWPT, and vIOMMU and vDevice
 * objects, all in one object table per {@link ioasid.api.iommufd.Iommufd} context, with the
 * kernel's iommufd lifetime rules (rules 120-130). It is built on
 * {@link ioasid.api.iommu.IommuService} alone; the in-kernel API stays for callers that use it.
 *
 * <h2>Errors</h2>
 * Every failure is an {@link ioasid.api.IoasidException}; a call that fails changes nothing.
 * The errnos mean the same thing on every operation:
 * <table>
 * <caption>errnos of the iommufd layer</caption>
 * <tr><th>errno</th><th>meaning</th></tr>
 * <tr><td>ENOENT</td><td>the object is gone: an ID never handed out, destroyed, a vDevice
 * tombstone, or an ID of another type where one type is expected (iommufd_get_object); an unmap
 * range that holds no area or splits one; a copy source not covered by areas</td></tr>
 * <tr><td>EBUSY</td><td>the object is in use: an IOAS with HWPTs, a HWPT with attached devices or
 * PASIDs or a vIOMMU on it, a vIOMMU with vDevices, a bound device (unbind it), a device bound
 * twice, a device or PASID attached already (replace it)</td></tr>
 * <tr><td>EINVAL</td><td>an incompatible object or argument: an ID of the wrong kind where several
 * kinds are accepted (an attach target, a HWPT's source), a domain the device cannot use, a
 * misaligned IOVA, length or address, an IOVA in a reserved range, a range whose start is not
 * below its end, a replace of a device or PASID not attached</td></tr>
 * <tr><td>EEXIST</td><td>a map over an area already mapped; a vDevice for a device or virtual ID
 * that has one; an address range in use where iommufd answers EADDRINUSE (D31)</td></tr>
 * <tr><td>EOVERFLOW</td><td>an IOVA or length of 2<sup>64</sup>-1, or a range that wraps</td></tr>
 * <tr><td>ENOSPC</td><td>no free IOVA range fits an allocated map</td></tr>
 * <tr><td>EPERM</td><td>a writable copy of pages mapped read-only; a device owned by
 * another</td></tr>
 * <tr><td>EOPNOTSUPP</td><td>unknown flags, and what the model lacks: nested HWPTs, dirty
 * tracking</td></tr>
 * <tr><td>ENODEV</td><td>an unknown device at bind</td></tr>
 * </table>
 * The IOMMU core's own errnos pass through unchanged where a call reaches it (a domain that
 * refuses a map: EINVAL, ERANGE, ENOMEM).
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.0.0")
package ioasid.api.iommufd;

/**
 * The IOASID (PASID) service: one system-wide 20-bit ID space with sets, quotas, set-private IDs,
 * reference counts and states, as the Linux kernel's IOASID core describes them.
 *
 * <p>Every failure is an {@link ioasid.api.IoasidException} naming the kernel errno.
 */
@org.osgi.annotation.bundle.Export
@org.osgi.annotation.versioning.Version("1.2.0")
package ioasid.api;

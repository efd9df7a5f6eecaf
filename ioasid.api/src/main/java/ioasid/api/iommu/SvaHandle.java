package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

import ioasid.api.IoasidHandle;

/** One bind of a process address space to a device (rules 36-37). */
@ProviderType
public interface SvaHandle {
    String device();

    ProcessAddressSpace mm();

    /** The process's PASID, shared by all its binds. */
    IoasidHandle pasid();

    IommuDomain domain();

    /** False once unbound or once its backend left. */
    boolean live();
}

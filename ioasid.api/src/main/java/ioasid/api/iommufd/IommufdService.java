package ioasid.api.iommufd;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Opens iommufd contexts, as {@code open("/dev/iommu")} does: each context is one object table
 * of its own, private to its caller. The service closes every context still open when it stops.
 */
@ProviderType
public interface IommufdService {

    /**
     * Opens a context.
     *
     * @param label what operators see as the owner of the devices it binds (the OWNER column of
     *     {@code iommu:groups}); not null, not empty
     * @throws ioasid.api.IoasidException EINVAL for a missing label; ENODEV once the service has
     *     stopped
     */
    Iommufd open(String label);
}

package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

/** A virtual IOMMU presented to a guest, on a nesting-parent domain (rules 89-94, seed 004). */
@ProviderType
public interface Viommu {
    int id();

    String backend();

    IommuDomain parent();

    boolean live();
}

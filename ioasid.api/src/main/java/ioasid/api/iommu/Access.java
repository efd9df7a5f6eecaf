package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

/** The kind of DMA a translation probe asks about. */
@ProviderType
public enum Access {
    READ,
    WRITE
}

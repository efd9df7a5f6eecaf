package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

/** A physical device's virtual ID in one vIOMMU: unique both ways (rule 90). */
@ProviderType
public interface Vdevice {
    Viommu viommu();

    String device();

    /** The guest's ID for the device, read as unsigned 64 bits. */
    long virtId();

    boolean live();
}

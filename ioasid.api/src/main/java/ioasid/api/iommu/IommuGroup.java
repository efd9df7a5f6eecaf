package ioasid.api.iommu;

import java.util.List;

import org.osgi.annotation.versioning.ProviderType;

/** Devices that cannot be isolated from each other and so share every attach (rules 43-48). */
@ProviderType
public interface IommuGroup {
    int id();

    /** The instance serving the group, even while it is away (D17). */
    String backend();

    /** Device names, in probe order. */
    List<String> devices();
}

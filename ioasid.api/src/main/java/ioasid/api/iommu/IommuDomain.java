package ioasid.api.iommu;

import org.osgi.annotation.versioning.ProviderType;

/** A domain: an address space devices and PASIDs attach to. */
@ProviderType
public interface IommuDomain {
    /** Unique on the platform while the domain lives. */
    int id();

    DomainType type();

    /** The name of the IOMMU instance whose hardware implements it. */
    String backend();

    /** Page sizes it maps with, one bit per size; 0 for non-paging domains. */
    long pgsizeBitmap();

    boolean nestingParent();

    /** False once freed, or once its backend left (D17); every operation on it then fails. */
    boolean live();
}

package ioasid.api.iommu.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One IOMMU group (rule 43). */
@ProviderType
public class GroupDTO extends DTO {
    public int id;
    public String backend;
    public String[] devices;
    /** The current domain, -1 for none. */
    public int domainId;
    public String domainType;
    public int defaultDomainId;
    public String defaultDomainType;
    public int blockingDomainId;
    /** The owner's string form, or null. */
    public String owner;
    public int ownerCount;
    public int pasids;
    /** True while its backend is away: all DMA blocked (D17). */
    public boolean blocked;
}

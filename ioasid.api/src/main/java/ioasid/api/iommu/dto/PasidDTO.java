package ioasid.api.iommu.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One PASID attached to one device. */
@ProviderType
public class PasidDTO extends DTO {
    public String device;
    public int pasid;
    public int domainId;
    public String domainType;
    /** "sva", "private" or "caller". */
    public String kind;
}

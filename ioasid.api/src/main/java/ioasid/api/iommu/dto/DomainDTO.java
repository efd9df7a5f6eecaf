package ioasid.api.iommu.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One live domain. */
@ProviderType
public class DomainDTO extends DTO {
    public int id;
    public String type;
    public String backend;
    /** "default", "blocking", "caller", "sva" or "private". */
    public String role;
    public boolean nestingParent;
    public int[] groups;
    /** Attachments as "device:pasid". */
    public String[] pasids;
    public int viommus;
}

package ioasid.api.iommu.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One vIOMMU and its vDevices. */
@ProviderType
public class ViommuDTO extends DTO {
    public int id;
    public String backend;
    public int parentDomainId;
    /** "virtId=device" pairs, virtual IDs in hex. */
    public String[] vdevices;
}

package ioasid.api.iommu.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One device. */
@ProviderType
public class DeviceDTO extends DTO {
    public String name;
    public String backend;
    /** False while its backend is away (D17). */
    public boolean present;
    public int groupId;
    public long streamId;
    public int maxPasids;
    /** Kernel drivers using the default domain (rule 53). */
    public int driverUsers;
}

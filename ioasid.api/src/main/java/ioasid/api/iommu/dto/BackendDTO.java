package ioasid.api.iommu.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One IOMMU instance (backend service). */
@ProviderType
public class BackendDTO extends DTO {
    public String name;
    public String vendor;
    public long serviceId;
    /** The capabilities as text. */
    public String caps;
    public int maxPasids;
    public String[] devices;
    /** Devices it declared that the platform refused (a name another backend serves). */
    public String[] rejectedDevices;
    /** "ACTIVE", or "FAILED" when its configuration was refused and it serves nothing. */
    public String state;
    /**
     * Why it is FAILED, or the last configuration change it refused while ACTIVE; null when
     * nothing was refused.
     */
    public String problem;
}

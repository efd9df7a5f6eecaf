package ioasid.api.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One custom allocator service and where it stands (D4-D6). */
@ProviderType
public class AllocatorDTO extends DTO {
    /** Called for allocations now. */
    public static final String ACTIVE = "ACTIVE";
    /** Member of the active helper group, not the one called. */
    public static final String SHARING = "SHARING";
    /** Preferred, but a switch is not allowed yet; see {@link #reason}. */
    public static final String WAITING = "WAITING";
    /** Ranked below the active allocator. */
    public static final String STANDBY = "STANDBY";
    /** Not registered with the core; see {@link #reason}. */
    public static final String REJECTED = "REJECTED";

    public long serviceId;
    public String name;
    public int ranking;
    /** Name of its ID space (its helper identity). */
    public String idSpace;
    /** One of the constants of this class. */
    public String state;
    /** Errno name for WAITING and REJECTED, else null. */
    public String errno;
    /** Why it waits or was rejected, else null. */
    public String reason;
}

package ioasid.api.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One live IOASID. */
@ProviderType
public class IoasidDTO extends DTO {
    public int id;
    public int setId;
    /** An {@link ioasid.api.IoasidState} name. */
    public String state;
    public int refs;
    /** -1 when none. */
    public int spid;
    public boolean revoked;
    /** The private data's string form, or null. */
    public String privateData;
}

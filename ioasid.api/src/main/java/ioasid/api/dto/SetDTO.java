package ioasid.api.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One IOASID set (rules 62-65). */
@ProviderType
public class SetDTO extends DTO {
    public int id;
    public String tokenType;
    /** The token's string form, null for an anonymous set. */
    public String token;
    /**
     * The label of the platform component that owns the set and alone may free it (decision
     * D19), null for a set anyone may free.
     */
    public String owner;
    public int quota;
    /** IDs held, FREE_PENDING ones included. */
    public int size;
    /** SPIDs attached. */
    public int spids;
    /** A {@link ioasid.api.SetState} name. */
    public String state;
    /** Listeners whose events come from this set, system-wide ones included. */
    public int listeners;
}

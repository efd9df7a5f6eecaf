package ioasid.api.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** The system capacity and the ID width (rules 60, 61; D1). */
@ProviderType
public class CapacityDTO extends DTO {
    /** Total IDs sets may be given. */
    public int capacity;
    /** Capacity not yet reserved or given to a set. */
    public int available;
    /** Width of the ID space in bits. */
    public int idBits;
    /** The largest ID that can be allocated. */
    public int maxId;
}

package ioasid.api.remote;

import org.osgi.dto.DTO;

/** The outcome of {@link HostIoasidService#claim}: every SPID asked for is in one of the lists. */
public class ClaimDTO extends DTO {
    /** The SPIDs the guest holds on the host from now on, ascending. */
    public int[] claimed;
    /**
     * The SPIDs the host could not give back, ascending: their host ID is held by another
     * guest, or is outside the set's range or quota. The guest must stop using them.
     */
    public int[] lost;
    /** The SPIDs the host held for the guest that it did not ask for; now freed, ascending. */
    public int[] released;
}

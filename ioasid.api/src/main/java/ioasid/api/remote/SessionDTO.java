package ioasid.api.remote;

import org.osgi.dto.DTO;

/** What a host answers to {@link HostIoasidService#open}: the session and the guest's set. */
public class SessionDTO extends DTO {
    /** The session's token, to give to every later call; valid until the host stops. */
    public String session;
    /**
     * The host's epoch: a random number drawn at each start of the host. A guest that sees
     * another epoch than before knows the host has forgotten every ID it held.
     */
    public long epoch;
    /** The guest's set on the host, as its shell lists it. */
    public int setId;
    /** How many IDs the guest may hold at once. */
    public int quota;
    /** How many IDs the host holds for the guest now. */
    public int held;
}

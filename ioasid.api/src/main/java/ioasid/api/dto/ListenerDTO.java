package ioasid.api.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One listener service and its delivery record (D12-D15). */
@ProviderType
public class ListenerDTO extends DTO {
    /** Receiving events. */
    public static final String ACTIVE = "ACTIVE";
    /** Waiting for a set with its token to be created (rule 82). */
    public static final String PENDING = "PENDING";
    /** Did not return within the stall timeout; skipped since. */
    public static final String STALLED = "STALLED";
    /** Not registered with the core; see {@link #reason}. */
    public static final String REJECTED = "REJECTED";

    public long serviceId;
    public String name;
    public int ranking;
    /** "system" or "set". */
    public String scope;
    public String tokenType;
    public String token;
    /** The set joined, or -1. */
    public int setId;
    /** Event type names received. */
    public String[] events;
    public String state;
    public String reason;
    public long delivered;
    public long failures;
    /** The last exception thrown, as text, or null. */
    public String lastFailure;
}

package ioasid.api.dto;

import java.util.Map;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** Counters of what went wrong or happened since the service started (D2, D7, D14). */
@ProviderType
public class StatsDTO extends DTO {
    public int live;
    public long allocations;
    public long reclaims;
    /** IDs revoked because their last allocator left (D7). */
    public long revoked;
    /** Allocator switches, fallbacks included. */
    public long allocatorSwitches;
    /** Custom allocator calls that threw or returned an unusable ID. */
    public long allocatorFaults;
    public long eventsDelivered;
    /**
     * {@link #eventsDelivered} by event type: every name of {@link ioasid.api.spi.EventType}, in
     * its order, with its count (0 included).
     *
     * @since 1.1
     */
    public Map<String, Long> eventsDeliveredByType;
    public long listenerFailures;
    public long listenerStalls;
}

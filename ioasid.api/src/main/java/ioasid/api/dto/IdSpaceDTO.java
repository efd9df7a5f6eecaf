package ioasid.api.dto;

import org.osgi.annotation.versioning.ProviderType;
import org.osgi.dto.DTO;

/** One ID space: the default allocator's, or a helper group's (rule 17, D5). */
@ProviderType
public class IdSpaceDTO extends DTO {
    /** "default", or the helper identity of the group. */
    public String name;
    public boolean isDefault;
    /** Whether IDs are allocated from this space now. */
    public boolean active;
    /** IDs of this space not yet reclaimed (FREE_PENDING ones included). */
    public int live;
    /** Allocations under way inside a custom allocator of this space. */
    public int inFlight;
    /** Service IDs of the allocators of the group, the one called first. */
    public long[] members;
}

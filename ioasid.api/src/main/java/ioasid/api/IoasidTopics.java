package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

/**
 * Event Admin topics the platform posts on, when an Event Admin service is present, for
 * monitoring. Events are posted asynchronously and never from under a lock; a monitor sees every
 * event, in order per topic source.
 */
@ProviderType
public final class IoasidTopics {
    /** Prefix of the IOASID state transitions: {@code ioasid/event/ALLOC} and so on. */
    public static final String EVENT = "ioasid/event/";
    /** An ID was allocated. */
    public static final String ALLOC = EVENT + "ALLOC";
    /** An ID was freed or revoked. */
    public static final String FREE = EVENT + "FREE";
    /** A SPID was attached, or an IOMMU bound the ID. */
    public static final String BIND = EVENT + "BIND";
    /** A SPID was detached, or an IOMMU unbound the ID. */
    public static final String UNBIND = EVENT + "UNBIND";

    /** A custom allocator service was accepted. Properties: allocator, service.id, ranking. */
    public static final String ALLOCATOR_ADDED = "ioasid/allocator/ADDED";
    /** A custom allocator service left. */
    public static final String ALLOCATOR_REMOVED = "ioasid/allocator/REMOVED";
    /** A custom allocator's ranking changed. */
    public static final String ALLOCATOR_RANKING = "ioasid/allocator/RANKING";
    /** An allocator registration was refused. Properties: allocator, errno, reason. */
    public static final String ALLOCATOR_REJECTED = "ioasid/allocator/REJECTED";
    /** The active ID space changed. Properties: from, to. */
    public static final String ALLOCATOR_SWITCHED = "ioasid/allocator/SWITCHED";
    /** IDs were revoked as their space's last allocator left (D7). Properties: space, count. */
    public static final String ALLOCATOR_REVOKED = "ioasid/allocator/REVOKED";

    /** An IOMMU backend appeared. Properties: backend, vendor, devices. */
    public static final String BACKEND_ADDED = "ioasid/iommu/backend/ADDED";
    /** An IOMMU backend left; its groups are blocked (D17). Properties: backend, groups. */
    public static final String BACKEND_REMOVED = "ioasid/iommu/backend/REMOVED";
    /** An IOMMU backend's devices were probed again. Properties: backend, devices. */
    public static final String BACKEND_MODIFIED = "ioasid/iommu/backend/MODIFIED";

    /** Event property: the IOASID. */
    public static final String PROP_ID = "id";
    /** Event property: the SPID, -1 for none. */
    public static final String PROP_SPID = "spid";
    /** Event property: the set's ID. */
    public static final String PROP_SET = "set";
    /** Event property: whether the event replays state for a late listener. */
    public static final String PROP_REPLAY = "replay";
    /** Event property: the transition's sequence number. */
    public static final String PROP_SEQUENCE = "sequence";

    private IoasidTopics() {
    }
}

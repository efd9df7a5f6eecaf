package ioasid.api;

import org.osgi.annotation.versioning.ProviderType;

import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.OccupancyDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.SetExportDTO;
import ioasid.api.dto.StatsDTO;

/**
 * The system-wide IOASID space.
 *
 * <p>IDs are allocated lowest-free in an inclusive range within a set, by the active allocator:
 * the default one, or the highest-ranked custom {@link ioasid.api.spi.IoasidAllocator} service a
 * switch is allowed to. Listeners ({@link ioasid.api.spi.IoasidListener}) are told of every state
 * transition exactly once, in one order by priority, and may call back into this service.
 *
 * <p>Lookups ({@link #find}) never block. Every other operation is linearizable. Every failure is
 * an {@link IoasidException} with the errno the kernel rule names, and leaves state unchanged.
 */
@ProviderType
public interface IoasidService {

    // ---- sets (rules 62-65, D8, D9, D19)

    /**
     * Creates a set and charges its quota to the system capacity. Anyone may free it. The set's
     * number is never given to another set, even after this one is freed (D19).
     *
     * @param quota how many IDs the set may hold; 0 takes all the capacity still available
     * @throws IoasidException EINVAL for a null type, an MM set without a token or a negative
     *     quota; EEXIST when a set of that type already has the token; ENOSPC when the quota
     *     exceeds the capacity available, or when every set number has been used
     */
    IoasidSet createSet(TokenType type, Object token, int quota);

    /**
     * Creates a set that a component of the platform owns for its own use (D19), such as the
     * IOMMU core's set of global PASIDs: snapshots show it with its owner's label
     * ({@link SetDTO#owner}), and only {@link #freeSet(IoasidSet, SetOwner)} given the same
     * {@code owner} object frees it. Otherwise the same as {@link #createSet(TokenType, Object,
     * int)}.
     *
     * @param owner the owner, kept by its component; null makes a set anyone may free
     * @throws IoasidException as {@link #createSet(TokenType, Object, int)}
     */
    IoasidSet createSet(TokenType type, Object token, int quota, SetOwner owner);

    /**
     * Frees a set that no platform component owns; the same as {@code freeSet(set, null)}.
     *
     * @return true when the set was freed now, false when it is FREE_PENDING
     * @throws IoasidException EINVAL for a set not of this service or already freed; EPERM for a
     *     set the platform owns (D19)
     */
    boolean freeSet(IoasidSet set);

    /**
     * Frees a set as {@code owner}. An empty set goes at once and its quota returns to the
     * capacity (D9). A set that still holds IDs becomes FREE_PENDING and goes with its last ID
     * (rule 65). A set without an owner is freed whoever asks; an owned one only by its owner
     * (D19).
     *
     * @param owner the object the set was created with, or null for a caller that owns nothing
     * @return true when the set was freed now, false when it is FREE_PENDING
     * @throws IoasidException EINVAL for a set not of this service or already freed; EPERM for a
     *     set owned by another owner, or by one when {@code owner} is null (D19)
     */
    boolean freeSet(IoasidSet set, SetOwner owner);

    /**
     * @return the live set with this token
     * @throws IoasidException EINVAL for a null type; ENOENT when there is none
     */
    IoasidSet findSet(TokenType type, Object token);

    /**
     * @return the live set with this ID, FREE_PENDING ones included
     * @throws IoasidException ENOENT when there is none: never created, or freed (a freed set's
     *     number stays unused, D19)
     */
    IoasidSet findSet(int setId);

    // ---- live migration of a set (D36)

    /**
     * Takes the state of a set for {@link #importSet} in another IOASID space: its token, quota
     * and IDLE and ACTIVE members with their IDs, SPIDs and states, in one consistent snapshot.
     * The set is left as it is; the usual flow is export, then free the set here (each ID sends
     * FREE, and UNBIND when its last reference goes), then import at the destination. IDs
     * allocated after the export are not in it.
     *
     * <p>A member without a SPID is exported with its own number as SPID, the number its guest
     * has seen. A member already FREE_PENDING is left behind and listed in
     * {@link SetExportDTO#freePendingIds}: it was freed, only its last references keep it.
     *
     * @return a new DTO
     * @throws IoasidException EINVAL for a set not of this service or already freed, or when a
     *     member without a SPID has a number that another member carries as SPID (the guest's
     *     view is ambiguous: attach a SPID to it first); EBUSY for a FREE_PENDING set; EOPNOTSUPP
     *     from a service that cannot export
     * @since 1.2
     */
    default SetExportDTO exportSet(IoasidSet set) {
        throw new IoasidException(Errno.EOPNOTSUPP, getClass().getName() + " cannot export a set");
    }

    /**
     * Recreates an exported set here, with the token and token type of the export and no owner;
     * the same as {@code importSet(state, state.token, null)}.
     *
     * @return the new set
     * @throws IoasidException as {@link #importSet(SetExportDTO, Object, SetOwner)}
     * @since 1.2
     */
    default IoasidSet importSet(SetExportDTO state) {
        return importSet(state, state == null ? null : state.token, null);
    }

    /**
     * Recreates an exported set here, all or nothing: a new set with the export's token type and
     * quota, and one ID per member carrying the member's SPID. A member whose ID is free here
     * gets that ID; the others get the lowest free IDs, in the members' order (D1). Each ID
     * starts IDLE with its allocation reference only, and sends ALLOC, then BIND with its SPID,
     * as an allocation followed by {@link #attachSpid} does. References, private data and the
     * members' FREE_PENDING peers do not travel (D36).
     *
     * <p>Which ID each SPID got: {@link #findBySpid}, or {@link #ids}.
     *
     * @param state what {@link #exportSet} returned, here or in another framework
     * @param token the set's token here (for an MM set, the address space here), null for an
     *     anonymous set
     * @param owner the platform component that alone may free the new set (D19), or null
     * @return the new set
     * @throws IoasidException EINVAL for a malformed state (another format, an unknown token type
     *     or member state, a quota below 1 or below the number of members, an ID outside this
     *     space, a SPID outside [0, 2^20), duplicate IDs or SPIDs, refs that do not match the
     *     state) or an MM set without a token; EEXIST when a set of that type already has the
     *     token; ENOSPC when the quota exceeds the capacity available, the space has not enough
     *     free IDs, or every set number has been used; EBUSY when a custom allocator is active
     *     here (it alone picks this space's IDs); ENODEV when the service has stopped;
     *     EOPNOTSUPP from a service that cannot import. On any failure nothing here changed.
     * @since 1.2
     */
    default IoasidSet importSet(SetExportDTO state, Object token, SetOwner owner) {
        throw new IoasidException(Errno.EOPNOTSUPP, getClass().getName() + " cannot import a set");
    }

    // ---- capacity (rules 60, 61)

    /**
     * Sets the system capacity, once, before any of it is reserved.
     *
     * @throws IoasidException EINVAL when {@code total} is not in {@code [1, 2^bits]}; EBUSY when
     *     the capacity was installed already or part of it is reserved
     */
    void installCapacity(int total);

    /**
     * Takes capacity out of the pool, {@code n == 0} meaning all that remains.
     *
     * @return the amount reserved
     * @throws IoasidException EINVAL for a negative amount; ENOSPC when more than is available
     */
    int reserveCapacity(int n);

    /**
     * Returns reserved capacity to the pool.
     *
     * @return the capacity now available
     * @throws IoasidException EINVAL for a negative amount or one that would exceed the capacity
     */
    int cancelCapacity(int n);

    // ---- IDs (rules 2, 6, 9, 10, 66-71, 77; D1, D3, D10)

    /**
     * Allocates the lowest free ID in {@code [min, max]}, both inclusive, in a set. The ID starts
     * IDLE with one reference, the allocation reference, and an ALLOC event goes out.
     *
     * @param privateData kept with the ID; may be null
     * @throws IoasidException EINVAL for a range outside {@code [1, maxId]} or with min &gt; max,
     *     or a set not of this service or freed; EBUSY for a FREE_PENDING set or when a custom
     *     allocator returned an ID still in use; ENOSPC when the range or the set's quota is
     *     exhausted or the allocator found nothing; EAGAIN when the allocator left during the
     *     call; EIO when a custom allocator failed or returned an ID outside the range
     */
    IoasidHandle alloc(IoasidSet set, int min, int max, Object privateData);

    /**
     * Frees an ID: drops the allocation reference, sends one FREE event and moves it to
     * FREE_PENDING while other references remain, or reclaims it. Freeing a FREE_PENDING ID
     * again does nothing (rule 67).
     *
     * @throws IoasidException EINVAL for a handle of another service; ENOENT for a stale handle
     */
    void free(IoasidHandle handle);

    /**
     * Frees an ID by number, as the owner of {@code set}.
     *
     * @param set the caller's set, or null to act regardless of set
     * @throws IoasidException EINVAL for an ID outside the space; ENOENT for an unknown ID;
     *     EACCES for an ID of another set
     */
    void free(IoasidSet set, int id);

    /**
     * Frees every ID of a set (rule 77); references held elsewhere keep them FREE_PENDING.
     *
     * @return how many IDs moved out of IDLE or ACTIVE
     * @throws IoasidException EINVAL for a set not of this service or already freed
     */
    int freeAllInSet(IoasidSet set);

    /**
     * Takes a reference.
     *
     * @throws IoasidException EINVAL for a stale handle or one of another service; EBUSY for a
     *     FREE_PENDING ID (rule 70)
     */
    void get(IoasidHandle handle);

    /**
     * Takes a reference by number.
     *
     * @throws IoasidException EINVAL for an unknown ID (rule 70) or one outside the space;
     *     EACCES for an ID of another set; EBUSY for a FREE_PENDING ID
     */
    IoasidHandle get(IoasidSet set, int id);

    /**
     * Takes a reference for a process, only on an ID of the process's own MM set (rule 72).
     *
     * @param mm the caller's address-space token
     * @throws IoasidException EINVAL for a null token, an ID outside the space, or an ID whose set
     *     is not of type MM; ENOENT for an unknown ID; EPERM when the set belongs to another
     *     address space; EBUSY for a FREE_PENDING ID
     */
    IoasidHandle getIfOwned(Object mm, int id);

    /**
     * Drops a reference; dropping the last one reclaims the ID (rule 71).
     *
     * @return true when the ID was reclaimed
     * @throws IoasidException EINVAL for a handle of another service; ENOENT for a stale handle
     */
    boolean put(IoasidHandle handle);

    /**
     * Drops a reference by number.
     *
     * @return true when the ID was reclaimed
     * @throws IoasidException EINVAL for an ID outside the space; ENOENT for an unknown ID;
     *     EACCES for an ID of another set
     */
    boolean put(IoasidSet set, int id);

    /**
     * Looks an ID up without locking (rule 6). FREE_PENDING IDs are found, with their state
     * visible (D10).
     *
     * @param set the caller's set, or null to match any set
     * @throws IoasidException EINVAL for an ID outside the space; ENOENT for an unknown ID;
     *     EACCES for an ID of another set
     */
    IoasidHandle find(IoasidSet set, int id);

    /**
     * Finds the ID a SPID is attached to in a set (rule 75).
     *
     * @param get whether to take a reference on the ID found
     * @throws IoasidException EINVAL for a set not of this service or freed, or an invalid SPID;
     *     ENOENT when no ID of the set has the SPID; EBUSY when {@code get} is asked of a
     *     FREE_PENDING ID (D10)
     */
    IoasidHandle findBySpid(IoasidSet set, int spid, boolean get);

    // ---- private data (rules 5, 8, 76)

    /**
     * Attaches private data to an ID that has none.
     *
     * @throws IoasidException EINVAL for null data or a handle of another service; ENOENT for a
     *     stale handle; EBUSY when data is attached already
     */
    void attachData(IoasidHandle handle, Object data);

    /**
     * Replaces the private data, which may become null (rule 8). Readers see either the old or
     * the new value.
     *
     * @return the previous data
     * @throws IoasidException EINVAL for a handle of another service; ENOENT for a stale handle
     */
    Object setData(IoasidHandle handle, Object data);

    /**
     * Detaches the private data.
     *
     * @return the data detached, or null when there was none
     * @throws IoasidException EINVAL for a handle of another service; ENOENT for a stale handle
     */
    Object detachData(IoasidHandle handle);

    // ---- SPIDs (rules 73-75, D11)

    /**
     * Attaches a set-private ID and sends BIND.
     *
     * @throws IoasidException EINVAL for an invalid (negative) SPID, one already used in the
     *     set, or a handle of another service; ENOENT for a stale handle; EBUSY when the ID has a
     *     SPID already (D11) or is FREE_PENDING
     */
    void attachSpid(IoasidHandle handle, int spid);

    /**
     * Sends UNBIND, with the SPID still visible to listeners, then detaches it (rule 74).
     *
     * @throws IoasidException EINVAL for an ID without a SPID or a handle of another service;
     *     ENOENT for a stale handle
     */
    void detachSpid(IoasidHandle handle);

    // ---- explicit notification (S6 ioasid_notify)

    /**
     * Sends BIND or UNBIND for an ID on behalf of a publisher such as the IOMMU core, which sends
     * BIND when an ID is first bound to a device and UNBIND when its last binding goes (S6: one
     * pair per bind cycle). The event carries the ID's current SPID. The core counts the BINDs
     * sent this way: an UNBIND with none outstanding sends nothing (so a BIND refused on a
     * FREE_PENDING ID is never followed by a lone UNBIND), a listener arriving later is replayed
     * one BIND per outstanding one, and those still outstanding when the ID is reclaimed get
     * their UNBIND then.
     *
     * @throws IoasidException EINVAL for another event type or a handle of another service;
     *     ENOENT for a stale handle; EBUSY for BIND on a FREE_PENDING ID
     */
    void notify(IoasidHandle handle, ioasid.api.spi.EventType type);

    // ---- snapshots for operators and tests

    CapacityDTO capacity();

    /** The ID spaces: the default one and one per helper group of custom allocators. */
    IdSpaceDTO[] idSpaces();

    /** Custom allocators in precedence order, each with its state and, when waiting, why. */
    AllocatorDTO[] allocators();

    SetDTO[] sets();

    /** Listeners in chain order. */
    ListenerDTO[] listeners();

    /**
     * Live IDs in ascending order.
     *
     * @param set only this set's IDs, or null for all
     * @param limit at most this many
     * @throws IoasidException EINVAL for a negative limit or a set not of this service
     */
    IoasidDTO[] ids(IoasidSet set, int limit);

    StatsDTO stats();

    /**
     * How the whole ID space is filled, in about {@code buckets} equal buckets of consecutive
     * IDs, each with its number of live IDs and the set holding most of them: what an operator's
     * picture of the space needs, in one snapshot that costs time in proportion to the live IDs
     * and the space's size in words, not a DTO per ID. The bucket size is the smallest that
     * covers IDs 0 to {@link CapacityDTO#maxId} in at most {@code buckets} buckets, so there may
     * be fewer.
     *
     * @param buckets how many buckets at most, 1 to 65536
     * @return a new DTO, consistent with itself
     * @throws IoasidException EINVAL when {@code buckets} is out of range
     * @since 1.1
     */
    OccupancyDTO occupancy(int buckets);
}

package ioasid.api.spi;

import org.osgi.annotation.versioning.ConsumerType;

/**
 * A custom IOASID allocator, registered as a whiteboard service (rules 13-27, decisions D4-D7).
 * A vIOMMU driver registers one so that a guest's PASIDs come from the host.
 *
 * <h2>Precedence</h2>
 * The default allocator is always present and ranks below every custom allocator. Among custom
 * allocators the one with the highest {@code service.ranking} is preferred, ties going to the
 * lowest {@code service.id} (registration order). The preferred allocator becomes active only
 * when a switch is allowed: when the active ID space holds no IDs, or when both allocators share
 * helpers. Until then it waits, reported with EAGAIN, and it becomes active by itself once the
 * active space empties. A change of ranking is applied at once under the same rule.
 *
 * <h2>Helper groups</h2>
 * Allocators whose {@link #helpers()} are equal form one helper group and share one ID space, as
 * kernel allocators do that pass the same alloc and free functions (rule 17). Members may come and
 * go without disturbing the space's IDs (rule 25). Calls go to the highest-ranked member, whose
 * instance stands for the kernel's private data: when it leaves, the next member is called
 * instead (D5). When the last member leaves while IDs are outstanding, those IDs are revoked:
 * each gets one FREE event and is reclaimed once its references are put (D7).
 *
 * <h2>How it is called</h2>
 * Calls into one helper group are serialized and made outside the core's locks, so a slow
 * allocator only holds up its own callers. The core records every ID it returns and rejects (and
 * frees back) an ID outside the requested range or already in use. An exception thrown by the
 * allocator fails that allocation with EIO and is reported. A number still held by an ID revoked
 * from another space is not a fault: the core keeps it from the allocator while it asks again,
 * and frees it back once the allocation is settled. Registering the same allocator object
 * twice is refused with EEXIST (D6).
 */
@ConsumerType
public interface IoasidAllocator {

    /** Service property (String): a name for operators; defaults to the class name. */
    String NAME = "ioasid.allocator.name";

    /**
     * Allocates an ID in {@code [min, max]}, both inclusive.
     *
     * @return the ID, or {@link ioasid.api.Ioasid#INVALID} when none is left
     */
    int alloc(int min, int max);

    /** Returns an ID this allocator handed out. */
    void free(int id);

    /**
     * The identity of this allocator's alloc and free helpers. Allocators returning equal objects
     * share one ID space. Must not change while registered.
     *
     * <p>IDs revoked when a group's last member left (D7) are reclaimed once their references
     * are put; they are then owed to the group's helpers and freed into the first allocator with
     * equal helpers that registers again. The core holds the departed helpers weakly, so that a
     * stopped bundle's classes can unload: if nothing else keeps them reachable and they are
     * collected, the space they stood for is taken to be gone, its owed IDs are dropped and a
     * warning says how many. Helpers whose space outlives its allocators (a host allocator in
     * another bundle, say) keep it reachable; helpers whose space dies with them (a VMM session)
     * should be a new object per space, so that a new space is never given the old one's IDs.
     */
    Object helpers();
}

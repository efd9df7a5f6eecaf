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
 *
 * <h2>Lock contract</h2>
 * {@link #alloc} and {@link #free} are never called with the core's lock held. They are called
 * with the group's own call lock held, a reentrant lock that makes the calls into one group one
 * at a time and is held for nothing else: the core releases it before it takes its own lock.
 * {@link #helpers()} is called when the allocator is bound, with no lock held; the object it
 * returns is then used as a key under the core's lock (see there). The core sets no timeout on
 * these calls.
 */
@ConsumerType
public interface IoasidAllocator {

    /** Service property (String): a name for operators; defaults to the class name. */
    String NAME = "ioasid.allocator.name";

    /**
     * Allocates an ID in {@code [min, max]}, both inclusive.
     *
     * <p>Called on the thread of the {@link ioasid.api.IoasidService#alloc} it serves, without
     * the core's lock and with the group's call lock held. It may block: the core does not time
     * it out, and while it runs the group's other calls wait (among them the {@link #free} that
     * a free or last put on another thread makes) and the allocation counts as in flight, which
     * keeps its space active (no switch away from it). If the group's last member leaves
     * meanwhile, the departure does not wait: the ID returned afterwards is refused with EAGAIN
     * and owed to the helpers. It may call back into the {@link ioasid.api.IoasidService}; a
     * call back that allocates from, or returns an ID to, the same space re-enters this group on
     * the same thread (the call lock is reentrant), and one that waits for another thread doing
     * so deadlocks.
     *
     * @return the ID, or {@link ioasid.api.Ioasid#INVALID} when none is left
     */
    int alloc(int min, int max);

    /**
     * Returns an ID this allocator handed out, or that a member of its group handed out before,
     * or one owed to its helpers from an earlier registration.
     *
     * <p>Called without the core's lock and with the group's call lock held, on the thread that
     * made the ID go: the free or last put that reclaimed it, the allocation that did not take
     * it, or the arrival of an allocator the ID was owed to. It may block, with the effects told
     * at {@link #alloc}; it may call back into the {@link ioasid.api.IoasidService} on the same
     * terms. An exception is caught, counted as an allocator fault and logged; the ID is taken
     * as returned.
     */
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
     *
     * <p>This method is called when the allocator is bound, without the core's lock; an
     * exception or null rejects the allocator with EINVAL. The returned object's
     * {@code equals}, {@code hashCode} and {@code toString} are then called <em>with the core's
     * lock held</em> (to find the group, the IDs owed to it and the space's name): they must be
     * quick, must not block, and must not call the {@link ioasid.api.IoasidService}, whose lock
     * is not reentrant.
     */
    Object helpers();
}

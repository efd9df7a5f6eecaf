package ioasid.core.impl;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.locks.ReentrantLock;

/**
 * One ID space: the default allocator's, or that of the custom allocators sharing one helper
 * identity (rule 17). Counters and members change under the core lock.
 */
final class HelperGroup {
    /** The helper identity; null for the default space. */
    final Object helpers;
    final String name;
    /** Members in precedence order; the first is the one called. Empty for the default space. */
    final List<AllocatorEntry> members = new ArrayList<>(2);
    /** Serializes calls into the group's allocators; never held together with the core lock. */
    final ReentrantLock callLock = new ReentrantLock();
    /** Live IDs of this space that were not revoked. */
    int live;
    /** Allocations under way inside the group's allocator. */
    int inFlight;
    /** Set when its last member left; calls still under way find out from it. */
    volatile boolean departed;
    /** The member called, kept current for calls made outside the core lock (D5). */
    volatile AllocatorEntry leader;

    HelperGroup(Object helpers) {
        this.helpers = helpers;
        this.name = helpers == null ? "default" : String.valueOf(helpers);
    }

    boolean isDefault() {
        return helpers == null;
    }

    /** Whether the space holds anything that a switch away from it would orphan. */
    boolean outstanding() {
        return live > 0 || inFlight > 0;
    }

    AllocatorEntry leader() {
        return leader;
    }

    /** Re-sorts the members after a change; the caller holds the core lock. */
    void membersChanged() {
        members.sort(AllocatorEntry.PRECEDENCE);
        leader = members.isEmpty() ? null : members.get(0);
    }
}

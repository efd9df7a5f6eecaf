package ioasid.core.impl;

import static ioasid.api.Errno.EAGAIN;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.EIO;
import static ioasid.api.Errno.ENOSPC;

import java.lang.ref.WeakReference;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.atomic.AtomicLong;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidTopics;
import ioasid.api.spi.IoasidAllocator;

/*
 * The allocator stack: the default allocator, the custom allocators of the whiteboard and their
 * helper groups, one ID space each, which space is active, and the IDs owed to a group that left.
 * IoasidCore calls it; it never calls the core back, and learns of IDs through arguments.
 *
 * The core's invariants this class enforces (C1-C10, numbered with IoasidCore's):
 *  C2. The default allocator is always present and never registered. Custom allocators arrive as
 *     whiteboard services and take precedence over it, by service ranking, then registration order.
 *  C3. Custom allocators with equal helper identities form a helper group and share one ID space.
 *     Members come and go without touching the space's IDs; calls go to the first member.
 *  C4. The active space changes only when it holds nothing (no live ID, no allocation in flight),
 *     unless the preferred allocator shares its helpers; until then the preferred one waits. So
 *     every live ID that was not revoked belongs to the active space.
 *  C5. When the last member of the active group leaves with IDs outstanding, they are revoked, not
 *     orphaned: one FREE each, FREE_PENDING until their last reference is put. A group's space
 *     outlives its members: what was revoked goes back to its helpers if they register again.
 *     Another space's allocator may hand out a number a revoked ID still holds: the core keeps
 *     that number from it, asks again, and gives it back afterwards.
 * The core walks its table to revoke (rule 5); this class decides when, and remembers from whom.
 * Allocators are called outside the core lock (C10), one call at a time per group.
 */
final class AllocatorStack {
    private static final System.Logger LOG = System.getLogger("ioasid.core");

    private final CoreLock lock;
    private final AllocatorNotices notices;

    // Everything below is guarded by the core lock.
    final HelperGroup defaultGroup = new HelperGroup(null);
    private HelperGroup active = defaultGroup;
    private final Map<Long, AllocatorEntry> allocators = new HashMap<>();
    private final Map<Object, HelperGroup> groups = new LinkedHashMap<>();
    /**
     * Revoked IDs still referenced, with the helpers of the group they were revoked from, held
     * weakly: a reference kept on a revoked ID must not keep the departed bundle's classes.
     */
    private final Map<Integer, WeakReference<Object>> revokedFrom = new HashMap<>();
    /** IDs reclaimed after their group left, owed to its helpers if they come back. */
    private final OwedIds owed = new OwedIds();
    long revokedTotal;
    long switches;
    final AtomicLong allocatorFaults = new AtomicLong();

    AllocatorStack(CoreLock lock, AllocatorNotices notices) {
        this.lock = lock;
        this.notices = notices;
    }

    private static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    /** The space allocations go to; under the core lock. */
    HelperGroup active() {
        return active;
    }

    /** The registered allocators, rejected ones included; under the core lock. */
    Collection<AllocatorEntry> entries() {
        return allocators.values();
    }

    /** The custom spaces, in order of creation; under the core lock. */
    Collection<HelperGroup> groups() {
        return groups.values();
    }

    // ------------------------------------------------------------------ custom allocation

    /** One allocation through a custom allocator: its answers and what becomes of them. */
    static final class Call {
        final HelperGroup group;
        /** The member asked, named in errors even if it left before the call. */
        AllocatorEntry caller;
        int id;
        Throwable fault;
        /** Numbers kept from the allocator while it is asked again (rule 5). */
        List<Integer> parked;
        /** Whether {@link #id} goes back to the allocator: the core did not take it. */
        boolean giveBack;

        Call(HelperGroup group) {
            this.group = group;
            this.caller = group.leader();
        }
    }

    /** Asks the group's first member for an ID; outside the core lock. */
    void ask(Call c, int min, int max) {
        HelperGroup g = c.group;
        c.fault = null;
        g.callLock.lock();
        try {
            AllocatorEntry now = g.leader();
            if (g.departed || now == null) {
                c.id = Ioasid.INVALID;
            } else {
                c.caller = now;
                c.id = now.allocator.alloc(min, max);
            }
        } catch (Throwable t) {
            c.id = Ioasid.INVALID;
            c.fault = t;
        } finally {
            g.callLock.unlock();
        }
    }

    /**
     * Whether the answer is a number that {@code holder}, the handle tracking it, keeps as an ID
     * revoked from another space: then it is parked and the allocator is asked again, as often
     * as there are revoked IDs. Under the core lock.
     */
    boolean parks(Call c, HandleImpl holder) {
        if (c.fault != null || c.group.departed || !heldByAnotherSpace(holder, c.group)) {
            return false;
        }
        if (c.parked == null) {
            c.parked = new ArrayList<>(2);
        } else if (c.parked.contains(c.id) || c.parked.size() >= revokedFrom.size()) {
            return false;
        }
        c.parked.add(c.id);
        return true;
    }

    /**
     * Whether {@code o} is an ID revoked from a space other than {@code g}'s, whose allocator may
     * hand the number out again: a new VMM session, say. Under the core lock.
     */
    private boolean heldByAnotherSpace(HandleImpl o, HelperGroup g) {
        if (o == null || !o.revoked()) {
            return false;
        }
        WeakReference<Object> from = revokedFrom.get(o.id);
        Object helpers = from == null ? null : from.get();
        return helpers == null || !helpers.equals(g.helpers);
    }

    /**
     * Why the core cannot take the answer, or null if it can; {@code tracked} says whether the
     * core tracks the number already. Under the core lock.
     */
    IoasidException refusal(Call c, int min, int max, boolean tracked) {
        int id = c.id;
        if (c.group.departed) {
            c.giveBack = id >= 0; // owed to its helpers, or to their returning group
            return err(EAGAIN, "allocator " + c.caller + " left during the allocation");
        }
        if (c.fault != null) {
            allocatorFaults.incrementAndGet();
            if (c.fault instanceof IoasidException typed) {
                // D37: a typed refusal keeps its errno; it is not a bug to trace
                return new IoasidException(typed.errno(), "allocator " + c.caller + " refused: "
                        + typed.getMessage().substring(typed.errno().name().length() + 2), typed);
            }
            return new IoasidException(EIO, "allocator " + c.caller + " failed: " + c.fault,
                    c.fault);
        }
        if (id == Ioasid.INVALID) {
            return err(ENOSPC, "allocator " + c.caller + " has no ID in [" + min + ", " + max
                    + "]");
        }
        if (id < min || id > max) {
            allocatorFaults.incrementAndGet();
            c.giveBack = id >= 0;
            return err(EIO, "allocator " + c.caller + " returned " + id + ", outside [" + min
                    + ", " + max + "]");
        }
        if (tracked) {
            // rule 19: the framework refuses an ID it already tracks and frees it back
            allocatorFaults.incrementAndGet();
            c.giveBack = true;
            return err(EBUSY, "allocator " + c.caller + " returned " + id
                    + ", which is still in use");
        }
        return null;
    }

    /** Gives back what the call parked or was refused, and logs a fault; outside the lock. */
    void settle(Call c, IoasidException failure) {
        if (c.parked != null) {
            for (int p : c.parked) {
                giveBack(c.group, p);
            }
        }
        if (failure != null) {
            if (c.fault instanceof IoasidException) {
                LOG.log(System.Logger.Level.WARNING, failure.getMessage());
            } else if (c.fault != null) {
                LOG.log(System.Logger.Level.WARNING, failure.getMessage(), c.fault);
            }
            if (c.giveBack) {
                giveBack(c.group, c.id);
            }
        }
    }

    // ------------------------------------------------------------------ giving IDs back

    /** IDs to give back to custom allocators once the lock is released. */
    static final class GiveBacks {
        final List<HelperGroup> groups = new ArrayList<>(1);
        final List<Integer> ids = new ArrayList<>(1);

        void add(HelperGroup g, int id) {
            groups.add(g);
            ids.add(id);
        }
    }

    private static GiveBacks giveBackLater(GiveBacks gb, HelperGroup g, int id) {
        if (gb == null) {
            gb = new GiveBacks();
        }
        gb.add(g, id);
        return gb;
    }

    /** Outside the core lock. */
    void runGiveBacks(GiveBacks gb) {
        if (gb != null) {
            for (int i = 0; i < gb.ids.size(); i++) {
                giveBack(gb.groups.get(i), gb.ids.get(i));
            }
        }
    }

    /**
     * Returns an ID to a custom allocator, outside the core lock. If the group left meanwhile, the
     * ID is owed to its helpers and goes to them when they register again.
     */
    private void giveBack(HelperGroup g, int id) {
        for (;;) {
            if (!g.departed) {
                g.callLock.lock();
                try {
                    AllocatorEntry to = g.leader();
                    if (!g.departed && to != null) {
                        try {
                            to.allocator.free(id);
                        } catch (Throwable t) {
                            allocatorFaults.incrementAndGet();
                            LOG.log(System.Logger.Level.WARNING,
                                    "allocator " + to + " failed to free " + id, t);
                        }
                        return;
                    }
                } finally {
                    g.callLock.unlock();
                }
            }
            lock.lock();
            try {
                HelperGroup back = groups.get(g.helpers);
                if (back == null) {
                    owed.add(g.helpers, id);
                    return;
                }
                g = back;
            } finally {
                lock.unlock();
            }
        }
    }

    // ------------------------------------------------------------------ reclaim and revocation

    /**
     * Accounts for a reclaimed ID: its space holds one fewer, and a custom space gets the number
     * back. Under the core lock; returns what to give back after it.
     */
    GiveBacks reclaimed(int id, boolean revoked, GiveBacks gb) {
        if (revoked) {
            return reclaimedRevoked(id, gb);
        }
        HelperGroup g = active; // rule 4: a live, unrevoked ID is of the active space
        g.live--;
        if (!g.isDefault()) {
            gb = giveBackLater(gb, g, id);
        }
        if (!g.outstanding()) {
            reevaluate();
        }
        return gb;
    }

    private GiveBacks reclaimedRevoked(int id, GiveBacks gb) {
        WeakReference<Object> from = revokedFrom.remove(id);
        Object helpers = from == null ? null : from.get();
        if (helpers != null) { // else they are gone, and with them their space
            HelperGroup back = groups.get(helpers);
            if (back != null) {
                gb = giveBackLater(gb, back, id); // its helpers returned meanwhile
            } else {
                owed.add(helpers, id);
            }
        }
        return gb;
    }

    /** Records that the core revoked {@code id} from the space of {@code from}'s helpers. */
    void revokedFrom(int id, WeakReference<Object> from) {
        revokedFrom.put(id, from);
    }

    /** The core revoked the departed group's IDs, {@code count} of them freed now (D7). */
    void revoked(Departure d, int count) {
        HelperGroup g = d.revoke;
        g.live = 0;
        revokedTotal += count;
        d.revoked = count;
        if (count > 0) {
            notices.notice(IoasidTopics.ALLOCATOR_REVOKED, "space", g.name, "count", count);
        }
    }

    /** D4: switch to the preferred allocator's space when the active one allows it. */
    void reevaluate() {
        AllocatorEntry best = null;
        for (AllocatorEntry e : allocators.values()) {
            if (e.group != null && (best == null || AllocatorEntry.PRECEDENCE.compare(e, best) < 0)) {
                best = e;
            }
        }
        HelperGroup want = best == null ? defaultGroup : best.group;
        if (want != active && (active.departed || !active.outstanding())) {
            HelperGroup from = active;
            active = want;
            switches++;
            notices.notice(IoasidTopics.ALLOCATOR_SWITCHED, "from", from.name, "to", want.name);
            LOG.log(System.Logger.Level.INFO, () -> "IOASID allocator changed from " + from.name
                    + " to " + want.name);
        }
    }

    // ------------------------------------------------------------------ whiteboard

    void bind(IoasidAllocator allocator, Map<String, Object> props) {
        long sid = ServiceProperties.serviceId(props);
        Object helpers;
        Throwable helpersFault = null;
        try {
            helpers = allocator.helpers();
        } catch (Throwable t) {
            helpers = null;
            helpersFault = t;
        }
        AllocatorEntry e = null;
        GiveBacks gb = null;
        lock.lock();
        try {
            AllocatorEntry known = allocators.get(sid);
            if (known != null) {
                // bind is idempotent (FELIX-6616)
                updateRanking(known, ServiceProperties.ranking(props));
            } else {
                e = new AllocatorEntry(sid, allocator, ServiceProperties.name(props,
                        IoasidAllocator.NAME, allocator), ServiceProperties.ranking(props));
                allocators.put(sid, e);
                gb = admit(e, helpers, helpersFault);
                reevaluate();
            }
        } finally {
            lock.unlock();
        }
        notices.flush();
        runGiveBacks(gb);
        if (e != null && e.rejectErrno != null) {
            LOG.log(System.Logger.Level.ERROR, "IOASID allocator " + e + " rejected: "
                    + e.rejectErrno + ": " + e.rejectReason);
        }
    }

    /** Joins a new allocator to its group or rejects it; under the core lock. */
    private GiveBacks admit(AllocatorEntry e, Object helpers, Throwable helpersFault) {
        GiveBacks gb = null;
        if (helpers == null) {
            e.rejectErrno = EINVAL;
            e.rejectReason = helpersFault != null ? "helpers() threw " + helpersFault
                    : "helpers() returned null";
        } else {
            AllocatorEntry twin = registeredTwin(e.allocator, e.serviceId);
            if (twin != null) {
                e.rejectErrno = EEXIST; // D6: leaves every group untouched
                e.rejectReason = "the same allocator object is registered as " + twin;
            } else {
                gb = join(e, helpers);
            }
        }
        if (e.rejectErrno != null) {
            notices.notice(IoasidTopics.ALLOCATOR_REJECTED, "allocator", e.name, "service.id",
                    e.serviceId, "errno", e.rejectErrno.name(), "reason", e.rejectReason);
        } else {
            notices.notice(IoasidTopics.ALLOCATOR_ADDED, "allocator", e.name, "service.id",
                    e.serviceId, "ranking", e.ranking, "space", e.group.name);
        }
        return gb;
    }

    private AllocatorEntry registeredTwin(IoasidAllocator allocator, long except) {
        for (AllocatorEntry o : allocators.values()) {
            if (o.allocator == allocator && o.group != null && o.serviceId != except) {
                return o;
            }
        }
        return null;
    }

    /** Adds an allocator to its helper group; returns what is owed to a returning group. */
    private GiveBacks join(AllocatorEntry e, Object helpers) {
        HelperGroup g = groups.computeIfAbsent(helpers, HelperGroup::new);
        g.members.add(e);
        g.membersChanged();
        e.group = g;
        e.rejectErrno = null;
        e.rejectReason = null;
        for (String gone : owed.expunge()) {
            notices.warnLater("IOASID allocator helpers collected while away: " + gone
                    + " are given back to no one");
        }
        List<Integer> due = owed.remove(helpers);
        GiveBacks gb = null;
        if (due != null) {
            for (int id : due) {
                gb = giveBackLater(gb, g, id);
            }
        }
        return gb;
    }

    void updated(Map<String, Object> props) {
        long sid = ServiceProperties.serviceId(props);
        lock.lock();
        try {
            AllocatorEntry known = allocators.get(sid);
            if (known != null) {
                updateRanking(known, ServiceProperties.ranking(props));
            }
        } finally {
            lock.unlock();
        }
        notices.flush();
    }

    private void updateRanking(AllocatorEntry e, int ranking) {
        if (e.ranking != ranking) {
            e.ranking = ranking;
            notices.notice(IoasidTopics.ALLOCATOR_RANKING, "allocator", e.name, "service.id",
                    e.serviceId, "ranking", ranking);
            if (e.group != null) {
                e.group.membersChanged();
            }
            reevaluate();
        }
    }

    /** What an allocator's departure leaves to do once the core revoked what it must. */
    static final class Departure {
        final String left;
        GiveBacks giveBacks;
        /** The departed group, when it was the active one: its live IDs are to be revoked. */
        HelperGroup revoke;
        int revoked;

        Departure(String left) {
            this.left = left;
        }
    }

    /**
     * Removes an allocator; under the core lock. Returns null when nothing of it was in use;
     * the caller then revokes the IDs of {@link Departure#revoke}, if any, and re-evaluates.
     */
    Departure remove(long sid) {
        AllocatorEntry e = allocators.remove(sid);
        if (e == null) {
            return null;
        }
        HelperGroup g = e.group;
        if (g == null) {
            return null; // was rejected: nothing of it is in use
        }
        Departure d = new Departure(e.toString());
        notices.notice(IoasidTopics.ALLOCATOR_REMOVED, "allocator", e.name, "service.id", sid);
        e.group = null;
        g.members.remove(e);
        g.membersChanged();
        // a duplicate refused because of this one stands in (D6), keeping the group alive
        AllocatorEntry twin = null;
        for (AllocatorEntry o : allocators.values()) {
            if (o.allocator == e.allocator && o.rejectErrno == EEXIST
                    && (twin == null || o.serviceId < twin.serviceId)) {
                twin = o;
            }
        }
        if (twin != null) {
            d.giveBacks = join(twin, g.helpers);
            notices.notice(IoasidTopics.ALLOCATOR_ADDED, "allocator", twin.name, "service.id",
                    twin.serviceId, "ranking", twin.ranking, "space", g.name);
        }
        if (g.members.isEmpty()) {
            groups.remove(g.helpers);
            g.departed = true;
            if (g == active) {
                d.revoke = g;
            }
        }
        return d;
    }

    /** Finishes a departure outside the core lock. */
    void departed(Departure d) {
        runGiveBacks(d.giveBacks);
        notices.flush();
        if (d.revoked > 0) {
            int n = d.revoked;
            LOG.log(System.Logger.Level.WARNING, () -> "IOASID allocator " + d.left + " left with "
                    + n + " IDs outstanding: revoked (FREE sent, reclaimed on last put)");
        }
    }
}

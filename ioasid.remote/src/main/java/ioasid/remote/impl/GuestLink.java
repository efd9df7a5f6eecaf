package ioasid.remote.impl;

import java.nio.charset.StandardCharsets;
import java.security.MessageDigest;
import java.util.Arrays;
import java.util.BitSet;
import java.util.function.Supplier;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.remote.ClaimDTO;
import ioasid.api.remote.HostIoasidService;
import ioasid.api.remote.SessionDTO;

/*
 * A guest's connection to its host: a session opened with the guest's name and secret, kept
 * alive by a ping on every step, given up when a call fails, and renewed with a reconcile when
 * the host answers again. One thread runs step(); alloc and free come from any thread.
 *
 * Rules:
 *  1. The host is away when a call cannot reach it or the host no longer knows the session
 *     (EPERM: it restarted, or the guest opened another session). Then the guest's host space
 *     leaves (onDown) as a hot-unplugged one does, and comes back (onUp) only after a reconcile.
 *  2. Reconcile: the host is told every SPID the guest still holds (claim); it frees what the
 *     guest gave up meanwhile and re-takes what it forgot, and what it cannot give back is lost:
 *     GuestSpace stops using it, one log line names it. Never two guests with one ID.
 *  3. A host that refuses the guest's secret is logged once per refusal streak, without the
 *     secret; the guest keeps trying (the operator may fix either side's configuration).
 *  4. A host's notice (GuestListener) is a doorbell: one for another session than the current
 *     one is ignored; a revocation makes the next step ask the host what it holds, and what the
 *     host no longer holds is lost.
 *  5. A planned move pauses the link instead of taking it down: the host ended the session
 *     with a notice (its set was exported), or the guest was pointed at another host. The host
 *     space stays registered and answers EAGAIN, so the guest's vIOMMUs keep their PASIDs and
 *     allocator; the claim at the next host keeps every SPID. Without a notice, the host's
 *     refusal of the old session is a departure as in rule 1.
 */
final class GuestLink {
    private static final System.Logger LOG = System.getLogger("ioasid.remote");

    // changed by retarget() on the step thread only
    private volatile Supplier<HostIoasidService> host;
    private volatile String target;
    private volatile String name;
    private volatile String secret;
    private volatile String listenerEndpoint;
    private boolean listenRefusalLogged;
    private boolean moved;
    // set by notices from the host's threads, acted on by the step thread
    private volatile String revokedWhy;
    private volatile String endedWhy;
    private volatile int ignoredNotices;
    private final Runnable onUp;
    private final Runnable onDown;
    private GuestSpace space;
    private Runnable wake = () -> { };
    private volatile String session;
    private volatile int quota;
    private volatile boolean broken;
    private volatile long epoch;
    private boolean everUp;
    private boolean refusalLogged;
    private boolean unreachableLogged;
    // what the status command shows
    private volatile String lastEvent = "not connected yet";
    private volatile int departures;
    private volatile int[] lastLost = new int[0];

    GuestLink(Supplier<HostIoasidService> host, String target, String name, String secret,
            Runnable onUp, Runnable onDown) {
        this.host = host;
        this.target = target;
        this.name = name;
        this.secret = secret;
        this.onUp = onUp;
        this.onDown = onDown;
    }

    void space(GuestSpace space) {
        this.space = space;
    }

    /** What to run when a call fails: a step at once, not at the next heartbeat. */
    void wake(Runnable wake) {
        this.wake = wake;
    }

    private void broke() {
        broken = true;
        wake.run();
    }

    String session() {
        return session;
    }

    int quota() {
        return quota;
    }

    String target() {
        return target;
    }

    /** Allocates on the host in the session given; EAGAIN when the host is away. */
    int alloc(String session, int min, int max) {
        HostIoasidService h = host.get();
        if (session == null || h == null) {
            throw new IoasidException(Errno.EAGAIN, "host " + target + " is not connected");
        }
        try {
            return h.alloc(session, min, max);
        } catch (IoasidException e) {
            if (e.errno() == Errno.EBUSY && moving(e)) {
                throw new IoasidException(Errno.EAGAIN, "host " + target + " is moving this "
                        + "guest to another host; try again");
            }
            if (e.errno() != Errno.EPERM) {
                throw e;
            }
            broke();
            throw new IoasidException(Errno.EAGAIN, "host " + target + " no longer knows this "
                    + "guest's session; reconnecting");
        } catch (RuntimeException e) {
            broke();
            throw new IoasidException(Errno.EAGAIN, "host " + target + " is unreachable: "
                    + rootMessage(e));
        }
    }

    /**
     * Frees on the host; when the host cannot be reached the ID stays in the guest's set there
     * until the next reconcile releases it (the guest no longer lists it).
     */
    void free(int spid) {
        HostIoasidService h = host.get();
        String s = session;
        if (s == null || h == null) {
            return;
        }
        try {
            h.free(s, spid);
        } catch (IoasidException e) {
            if (e.errno() == Errno.EPERM) {
                broke();
            } else if (e.errno() == Errno.EBUSY) {
                moving(e); // the next host's claim releases it: the guest no longer lists it
            } // ENOENT: the host released it already (a reconcile ran meanwhile)
        } catch (RuntimeException e) {
            broke();
        }
    }

    /**
     * Whether the host answered that it froze this guest for a migration (EBUSY, D38); if so the
     * next step pauses the link (rule 5). Only the session's holder hears that answer.
     */
    private boolean moving(IoasidException e) {
        if (!e.getMessage().contains(HostService.EXPORTED)) {
            return false;
        }
        endedWhy = e.getMessage();
        wake.run();
        return true;
    }

    /** Where the guest's listener is, for the host; null when the guest gives none. */
    void listener(String endpoint) {
        this.listenerEndpoint = endpoint;
    }

    /**
     * Points the guest at another host, or another name or secret there (rule 5). Run on the
     * step thread: the next step connects.
     */
    void retarget(Supplier<HostIoasidService> host, String target, String name, String secret) {
        String s = session;
        HostIoasidService old = this.host.get();
        if (s != null) {
            pause("pointed at host " + target);
        }
        if (s != null && old != null) {
            try {
                old.close(s);
            } catch (RuntimeException e) {
                // an old host that is away forgets the session by itself
            }
        }
        this.host = host;
        this.target = target;
        this.name = name;
        this.secret = secret;
        moved = everUp;
        refusalLogged = false;
        unreachableLogged = false;
        listenRefusalLogged = false;
        revokedWhy = null;
        endedWhy = null;
    }

    /** A host's notice (rule 4); any thread. */
    void notice(String forSession, boolean ended, String why) {
        String s = session;
        if (s == null || forSession == null || !MessageDigest.isEqual(
                s.getBytes(StandardCharsets.UTF_8), forSession.getBytes(StandardCharsets.UTF_8))) {
            ignoredNotices++;
            return;
        }
        String reason = why == null ? "no reason given" : why.replaceAll("\\p{Cntrl}", "?");
        if (ended) {
            endedWhy = reason;
            broken = true;
        } else {
            revokedWhy = reason;
        }
        wake.run();
    }

    /** Whether a call failed since the last step: the owner runs a step at once. */
    boolean broken() {
        return broken;
    }

    /** One step: a ping while connected; while not, an attempt to connect and reconcile. */
    void step() {
        String s = session;
        if (s != null && revokedWhy != null && endedWhy == null) {
            verify(s);
        }
        if (s != null) {
            String ended = endedWhy;
            endedWhy = null;
            if (ended != null) {
                pause("host " + target + " ended the session: " + ended);
            } else {
                String why = broken ? "a call failed" : ping(s);
                if (why == null) {
                    return;
                }
                down(why);
            }
        }
        connect();
    }

    /** Null when the host answers with the same epoch; else why the link is down. */
    private String ping(String s) {
        HostIoasidService h = host.get();
        if (h == null) {
            return "the import of the host service went away";
        }
        try {
            long e = h.ping(s);
            return e == epoch ? null : "the host restarted";
        } catch (IoasidException e) {
            if (e.errno() == Errno.EBUSY && moving(e)) {
                return null; // the step after this one pauses
            }
            return "the host no longer knows this guest's session (it restarted)";
        } catch (RuntimeException e) {
            return "the host does not answer: " + rootMessage(e);
        }
    }

    /** After a revocation notice: what the guest holds and the host does not is lost. */
    private void verify(String s) {
        String why = revokedWhy;
        revokedWhy = null;
        HostIoasidService h = host.get();
        if (h == null) {
            return;
        }
        int[] gone;
        synchronized (space.lock()) {
            int[] onHost;
            try {
                onHost = h.held(s);
            } catch (RuntimeException e) {
                broken = true; // the ping below finds out what happened
                return;
            }
            BitSet hostHeld = new BitSet();
            for (int id : onHost) {
                hostHeld.set(id);
            }
            gone = Arrays.stream(space.heldSpids()).filter(id -> !hostHeld.get(id)).toArray();
            space.markLost(gone, "host " + target + " revoked it (" + why + ")");
        }
        lastLost = gone;
        lastEvent = "host revoked " + gone.length + " PASIDs: " + why;
        if (gone.length > 0) {
            LOG.log(System.Logger.Level.WARNING, "ioasid.remote: guest " + name + ": PASIDs lost "
                    + Arrays.toString(gone) + ": host " + target + " revoked them (" + why
                    + "); freeing them answers ENOENT");
        }
    }

    /**
     * Ends the session for a planned move (rule 5): the host space stays, its allocations answer
     * EAGAIN until the guest is connected again, and its vIOMMUs are not torn down.
     */
    private void pause(String why) {
        synchronized (space.lock()) {
            session = null;
        }
        lastEvent = "paused: " + why;
        LOG.log(System.Logger.Level.WARNING, "ioasid.remote: guest " + name + ": paused, "
                + "allocations answer EAGAIN until it is connected again: " + why);
    }

    private void down(String why) {
        synchronized (space.lock()) {
            session = null;
        }
        departures++;
        lastEvent = "host went away: " + why;
        LOG.log(System.Logger.Level.WARNING, "ioasid.remote: guest " + name + ": host " + target
                + " went away (" + why + "); its host space leaves until it returns");
        onDown.run();
    }

    private void connect() {
        HostIoasidService h = host.get();
        if (h == null) {
            lastEvent = "the host service is not imported (yet)";
            return;
        }
        SessionDTO opened;
        try {
            opened = h.open(name, secret);
        } catch (IoasidException e) {
            if (!refusalLogged) {
                refusalLogged = true;
                lastEvent = "refused by the host: " + e.errno();
                LOG.log(System.Logger.Level.WARNING, "ioasid.remote: guest " + name + ": host "
                        + target + " refused the session: " + e.getMessage()
                        + (e.errno() == Errno.EPERM ? " (check the guest's name and secret on "
                                + "both sides)" : ""));
            }
            return;
        } catch (RuntimeException e) {
            if (!unreachableLogged) { // once per streak: the host may simply not be up yet
                unreachableLogged = true;
                lastEvent = "host unreachable: " + rootMessage(e);
                LOG.log(System.Logger.Level.INFO, "ioasid.remote: guest " + name + ": host "
                        + target + " not reachable (" + rootMessage(e) + "); trying again");
            }
            return;
        }
        refusalLogged = false;
        unreachableLogged = false;
        boolean restarted = everUp && !moved && opened.epoch != epoch;
        ClaimDTO claim;
        synchronized (space.lock()) {
            try {
                claim = h.claim(opened.session, space.heldSpids());
            } catch (RuntimeException e) {
                return; // gone again: the next step tries anew
            }
            String why = "host " + target + (restarted ? " restarted with no memory of it and"
                    : "") + " gave it to another guest or has no room for it";
            space.markLost(claim.lost, why);
            epoch = opened.epoch;
            quota = opened.quota;
            broken = false;
            session = opened.session;
        }
        lastLost = claim.lost;
        lastEvent = (moved ? "moved to host " + target : everUp ? "reconnected" : "connected")
                + (restarted ? " to a restarted host" : "") + ": claimed " + claim.claimed.length
                + ", lost " + claim.lost.length + ", released " + claim.released.length;
        everUp = true;
        moved = false;
        listen(h, opened.session);
        onUp.run(); // before the log lines: whoever reads them finds the host space there
        LOG.log(System.Logger.Level.INFO, "ioasid.remote: guest " + name + ": " + lastEvent
                + " (host " + target + ", set " + opened.setId + ", quota " + opened.quota + ")");
        if (claim.lost.length > 0) {
            LOG.log(System.Logger.Level.WARNING, "ioasid.remote: guest " + name + ": PASIDs lost "
                    + Arrays.toString(claim.lost) + ": " + "host " + target
                    + (restarted ? " restarted and" : "") + " cannot give them back; freeing "
                    + "them answers ENOENT");
        }
    }

    /** Gives the host the guest's listener; a host that will not take it is logged once. */
    private void listen(HostIoasidService h, String s) {
        String endpoint = listenerEndpoint;
        if (endpoint == null) {
            return;
        }
        try {
            h.listen(s, endpoint);
            listenRefusalLogged = false;
        } catch (RuntimeException e) {
            if (!listenRefusalLogged) {
                listenRefusalLogged = true;
                LOG.log(System.Logger.Level.WARNING, "ioasid.remote: guest " + name + ": host "
                        + target + " does not take this guest's listener at " + endpoint + " ("
                        + rootMessage(e) + "); the guest learns of revocations at its next "
                        + "reconcile");
            }
        }
    }

    /** Ends the session, if any, without waiting for a host that is away. */
    void close() {
        String s = session;
        session = null;
        HostIoasidService h = host.get();
        if (s != null && h != null) {
            try {
                h.close(s);
            } catch (RuntimeException e) {
                // the host keeps the guest's IDs for its next session either way
            }
        }
    }

    long epoch() {
        return epoch;
    }

    /** Lines for the guest's status command. */
    String status() {
        return "guest " + name + " -> host " + target + ": "
                + (session != null ? "connected" : "not connected") + ", epoch "
                + Long.toHexString(epoch) + ", quota " + quota + ", departures " + departures
                + ", listener " + (listenerEndpoint == null ? "none" : listenerEndpoint)
                + (ignoredNotices > 0 ? ", notices ignored " + ignoredNotices : "")
                + "\nlast: " + lastEvent + "\nlost at last reconcile: "
                + Arrays.toString(lastLost);
    }

    private static String rootMessage(Throwable e) {
        Throwable t = e;
        while (t.getCause() != null && t.getCause() != t) {
            t = t.getCause();
        }
        return t.getClass().getSimpleName() + (t.getMessage() == null ? "" : ": "
                + t.getMessage());
    }
}

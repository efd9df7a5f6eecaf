package ioasid.core.impl;

import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;

import java.util.HashMap;
import java.util.Map;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.SetState;
import ioasid.api.spi.EventType;

/*
 * What callers attach to a live IOASID: private data, and a SPID (the guest's number for a host
 * IOASID, unique within its set) with the BIND and UNBIND events it causes, and the BINDs and
 * UNBINDs that publishers of a binding request.
 *
 * The part of the core's invariant C7 (numbered with IoasidCore's) this class enforces: a SPID
 * sends BIND when attached and UNBIND when detached or when its ID is reclaimed. Listeners still
 * see the SPID in its UNBIND (rule 74). A second SPID is refused, not written over (D11), and a
 * lookup by SPID that takes a reference refuses a FREE_PENDING ID (D10). A BIND sent on request
 * is undone by one UNBIND, on request or at the reclaim; an UNBIND with none to undo sends nothing.
 * Private data is replaced by a release store: readers see the old or the new, and no grace
 * period is waited for (unlike rule 8).
 */
final class Attachments {
    private final CoreLock lock;
    private final Dispatcher dispatcher;
    /** BINDs sent through notify() and not yet undone, per handle (identity keys); locked. */
    private final Map<HandleImpl, int[]> requestedBinds = new HashMap<>();

    Attachments(CoreLock lock, Dispatcher dispatcher) {
        this.lock = lock;
        this.dispatcher = dispatcher;
    }

    private static IoasidException err(Errno errno, String message) {
        return new IoasidException(errno, message);
    }

    // ------------------------------------------------------------------ private data

    void attachData(HandleImpl h, Object data) {
        if (data == null) {
            throw err(EINVAL, "null private data");
        }
        lock.lock();
        try {
            HandleImpl.checkLive(h, h.word());
            if (h.dataAcquire() != null) {
                throw err(EBUSY, "IOASID " + h.id + " has private data already");
            }
            h.data(data);
        } finally {
            lock.unlock();
        }
    }

    Object setData(HandleImpl h, Object data) {
        lock.lock();
        try {
            HandleImpl.checkLive(h, h.word());
            Object old = h.dataAcquire();
            h.data(data); // a release store: readers see old or new, no grace period (rule 8)
            return old;
        } finally {
            lock.unlock();
        }
    }

    // ------------------------------------------------------------------ SPIDs

    static void checkSpid(int spid) {
        if (spid < 0 || spid > Ioasid.MAX_ID) {
            throw err(EINVAL, "SPID " + spid + " not in [0, " + Ioasid.MAX_ID + "]");
        }
    }

    void attachSpid(HandleImpl h, int spid) {
        checkSpid(spid);
        long ev;
        lock.lock();
        try {
            int w = h.word();
            HandleImpl.checkLive(h, w);
            if ((w & HandleImpl.FREED) != 0) {
                throw err(EBUSY, "IOASID " + h.id + " is FREE_PENDING");
            }
            if (h.spidAcquire() != Ioasid.INVALID) {
                throw err(EBUSY, "IOASID " + h.id + " has SPID " + h.spidAcquire() + " already");
            }
            Map<Integer, HandleImpl> index = h.set.spids();
            HandleImpl other = index.get(spid);
            if (other != null) {
                throw err(EINVAL, "SPID " + spid + " is used by IOASID " + other.id
                        + " in set " + h.set.id);
            }
            index.put(spid, h);
            h.spid(spid);
            ev = dispatcher.emit(EventType.BIND, h, spid);
        } finally {
            lock.unlock();
        }
        if (ev != 0) {
            dispatcher.await(ev);
        }
    }

    /**
     * The SPID of an ID just imported (D36), with its BIND; under the core lock. The caller
     * checked that the SPID is valid and unique in the set, and the ID is new.
     */
    void attachImported(HandleImpl h, int spid) {
        h.set.spids().put(spid, h);
        h.spid(spid);
        dispatcher.emit(EventType.BIND, h, spid);
    }

    void detachSpid(HandleImpl h) {
        long ev;
        lock.lock();
        try {
            HandleImpl.checkLive(h, h.word());
            int spid = h.spidAcquire();
            if (spid == Ioasid.INVALID) {
                throw err(EINVAL, "IOASID " + h.id + " has no SPID");
            }
            // rule 74: listeners still see the SPID
            ev = dispatcher.emit(EventType.UNBIND, h, spid);
            h.set.spids.remove(spid);
            h.spid(Ioasid.INVALID);
        } finally {
            lock.unlock();
        }
        if (ev != 0) {
            dispatcher.await(ev);
        }
    }

    /** A BIND or UNBIND on request of the binding's publisher. */
    void notify(HandleImpl h, EventType type) {
        if (type != EventType.BIND && type != EventType.UNBIND) {
            throw err(EINVAL, "only BIND and UNBIND are sent on request, not " + type);
        }
        long ev;
        lock.lock();
        try {
            int w = h.word();
            HandleImpl.checkLive(h, w);
            if (type == EventType.BIND) {
                if ((w & HandleImpl.FREED) != 0) {
                    throw err(EBUSY, "IOASID " + h.id + " is FREE_PENDING");
                }
                int[] n = requestedBinds.get(h);
                if (n == null) {
                    requestedBinds.put(h, n = new int[1]); // a count, not a box per BIND
                }
                n[0]++;
                ev = dispatcher.emit(type, h, h.spidAcquire());
            } else {
                int[] n = requestedBinds.get(h);
                if (n == null) {
                    ev = 0; // no BIND outstanding: nothing for listeners to undo
                } else {
                    if (--n[0] == 0) {
                        requestedBinds.remove(h);
                    }
                    ev = dispatcher.emit(type, h, h.spidAcquire());
                }
            }
        } finally {
            lock.unlock();
        }
        if (ev != 0) {
            dispatcher.await(ev);
        }
    }

    HandleImpl findBySpid(SetImpl s, int spid, boolean get) {
        checkSpid(spid);
        lock.lock();
        try {
            if (s.state == SetState.FREED) {
                throw err(EINVAL, "set " + s.id + " was freed");
            }
            HandleImpl h = s.spids == null ? null : s.spids.get(spid);
            // a handle whose last put is under way is still indexed until that put gets the lock
            if (h == null || (get ? !h.tryGet() : HandleImpl.dead(h.word()))) {
                throw err(ENOENT, "no IOASID of set " + s.id + " has SPID " + spid);
            }
            return h; // D10: tryGet answers EBUSY when FREE_PENDING
        } finally {
            lock.unlock();
        }
    }

    /** The BINDs outstanding on request for a handle, or null; under the core lock. */
    int[] requestedBinds(HandleImpl h) {
        return requestedBinds.isEmpty() ? null : requestedBinds.get(h);
    }

    /** Sends the UNBINDs a reclaimed handle still owes and drops its SPID; under the core lock. */
    void reclaimed(HandleImpl h) {
        int spid = h.spidAcquire();
        if (!requestedBinds.isEmpty()) {
            int[] n = requestedBinds.remove(h);
            // a publisher that dropped its reference bound
            for (int i = n == null ? 0 : n[0]; i > 0; i--) {
                dispatcher.emit(EventType.UNBIND, h, spid);
            }
        }
        if (spid != Ioasid.INVALID) {
            dispatcher.emit(EventType.UNBIND, h, spid);
            h.set.spids.remove(spid);
            h.spid(Ioasid.INVALID);
        }
    }
}

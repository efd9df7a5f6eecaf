package ioasid.core.impl;

import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;

import org.osgi.framework.Constants;

import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/*
 * The listener chains: the listener whiteboard, and per set the chain of the system-wide and
 * set-scoped listeners its events go to, which the Dispatcher delivers (rule 8 of IoasidCore).
 * IoasidCore calls it; it reads the sets and, to replay it, the ID table, under the core lock.
 *
 * Rules this class enforces:
 *  D12 System-wide and set-scoped listeners form one chain per set, highest service ranking
 *      first, ties by lowest service ID; a ranking change re-orders it for what follows.
 *  D15 A listener that arrives while its scope holds IDs is first replayed the current state.
 *  rule 82 A set-scoped listener whose set does not exist yet waits and joins the set when it is
 *      created, and goes back to waiting when the set is freed.
 *  rule 81 The same listener object registered twice is refused (EEXIST); the refused one stands
 *      in when the first one leaves.
 */
final class ListenerChains {
    private static final System.Logger LOG = System.getLogger("ioasid.core");
    /** The service ID of the listener that posts to Event Admin, which is no service. */
    private static final long EVENT_ADMIN_LISTENER_ID = -1L;

    private final CoreLock lock;
    private final Dispatcher dispatcher;
    private final IdBitmap bitmap;
    private final HandleImpl[] table;
    private final SetRegistry sets;
    private final Attachments attachments;

    // Everything below is guarded by the core lock.
    private final Map<Long, ListenerEntry> listeners = new HashMap<>();
    private final List<ListenerEntry> systemListeners = new ArrayList<>();
    private final Map<TokenKey, List<ListenerEntry>> setListeners = new HashMap<>();

    ListenerChains(CoreLock lock, Dispatcher dispatcher, IdBitmap bitmap, HandleImpl[] table,
            SetRegistry sets, Attachments attachments) {
        this.lock = lock;
        this.dispatcher = dispatcher;
        this.bitmap = bitmap;
        this.table = table;
        this.sets = sets;
        this.attachments = attachments;
    }

    /** Every listener bound, rejected ones included; under the core lock. */
    Collection<ListenerEntry> entries() {
        return listeners.values();
    }

    // ------------------------------------------------------------------ sets

    /** Gives a new set its chain, with the listeners that waited for its token; under the lock. */
    void setCreated(SetImpl s) {
        if (s.token != null) {
            List<ListenerEntry> waiting = setListeners.get(new TokenKey(s.type, s.token));
            if (waiting != null) {
                for (ListenerEntry l : waiting) {
                    l.set = s; // rule 82: pending listeners join the new set
                }
            }
        }
        rebuildChain(s);
    }

    /** Empties a freed set's chain; its listeners wait again. Under the core lock. */
    void setFreed(SetImpl s) {
        if (s.token != null) {
            List<ListenerEntry> joined = setListeners.get(new TokenKey(s.type, s.token));
            if (joined != null) {
                for (ListenerEntry l : joined) {
                    l.set = null; // rule 82: back to pending, for a later set with this token
                }
            }
        }
        s.chain = ListenerEntry.NONE;
        s.chainMask = 0;
    }

    private void rebuildChain(SetImpl s) {
        List<ListenerEntry> chain = new ArrayList<>(systemListeners);
        if (s.token != null) {
            List<ListenerEntry> own = setListeners.get(new TokenKey(s.type, s.token));
            if (own != null) {
                for (ListenerEntry l : own) {
                    if (l.set == s) {
                        chain.add(l);
                    }
                }
            }
        }
        chain.sort(ListenerEntry.CHAIN_ORDER);
        int mask = 0;
        for (ListenerEntry l : chain) {
            mask |= l.mask;
        }
        s.chain = chain.toArray(ListenerEntry.NONE);
        s.chainMask = mask;
    }

    private void rebuildAllChains() {
        systemListeners.sort(ListenerEntry.CHAIN_ORDER);
        for (SetImpl s : sets.all()) {
            rebuildChain(s);
        }
    }

    /** D15: queues the state of {@code only}, or of every set, for a listener alone. */
    private void replay(ListenerEntry l, SetImpl only) {
        ListenerEntry[] target = {l};
        for (int id = bitmap.nextSet(1); id >= 0; id = bitmap.nextSet(id + 1)) {
            HandleImpl h = table[id];
            if (h == null || (only != null && h.set != only)) {
                continue;
            }
            // a dying ID (its last put under way) is replayed too: its reclaim, queued behind
            // this replay, sends the new listener the rest of its life
            int w = h.word();
            if (l.wants(EventType.ALLOC)) {
                replayed(EventType.ALLOC, h, Ioasid.INVALID, target);
            }
            int spid = h.spidAcquire();
            if (spid != Ioasid.INVALID && l.wants(EventType.BIND)) {
                replayed(EventType.BIND, h, spid, target);
            }
            int[] binds = attachments.requestedBinds(h);
            for (int i = binds == null ? 0 : binds[0]; i > 0 && l.wants(EventType.BIND); i--) {
                replayed(EventType.BIND, h, spid, target);
            }
            if ((w & HandleImpl.FREED) != 0 && l.wants(EventType.FREE)) {
                replayed(EventType.FREE, h, spid, target);
            }
        }
    }

    private void replayed(EventType type, HandleImpl h, int spid, ListenerEntry[] target) {
        dispatcher.enqueue(new IoasidEvent(type, h, h.id, spid, h.set, h.dataAcquire(), true,
                dispatcher.nextSequence()), target);
    }

    // ------------------------------------------------------------------ whiteboard

    private static int eventMask(Object v) {
        if (v == null) {
            return ListenerEntry.ALL_EVENTS;
        }
        Collection<?> names;
        if (v instanceof String str) {
            names = Arrays.asList(str.split("\\s*,\\s*"));
        } else if (v instanceof String[] arr) {
            names = Arrays.asList(arr);
        } else if (v instanceof Collection<?> c) {
            names = c;
        } else {
            throw new IoasidException(EINVAL,
                    IoasidListener.EVENTS + " must be String, String[] or a collection");
        }
        int mask = 0;
        for (Object n : names) {
            try {
                mask |= 1 << EventType.valueOf(String.valueOf(n).trim()).ordinal();
            } catch (IllegalArgumentException e) {
                throw new IoasidException(EINVAL, "unknown event type '" + n + "'");
            }
        }
        if (mask == 0) {
            throw new IoasidException(EINVAL, IoasidListener.EVENTS + " names no event");
        }
        return mask;
    }

    private static ListenerEntry entry(long sid, IoasidListener l, Map<String, Object> props) {
        String name = ServiceProperties.name(props, IoasidListener.NAME, l);
        int ranking = ServiceProperties.ranking(props);
        Object scope = props.getOrDefault(IoasidListener.SCOPE, IoasidListener.SCOPE_SYSTEM);
        int mask = eventMask(props.get(IoasidListener.EVENTS));
        if (IoasidListener.SCOPE_SYSTEM.equals(scope)) {
            return new ListenerEntry(sid, l, name, ranking, true, null, null, mask);
        }
        if (!IoasidListener.SCOPE_SET.equals(scope)) {
            throw new IoasidException(EINVAL, "scope '" + scope + "' is neither system nor set");
        }
        Object token = props.get(IoasidListener.SET_TOKEN);
        if (token == null) {
            throw new IoasidException(EINVAL, "scope set needs " + IoasidListener.SET_TOKEN);
        }
        Object typeName = props.getOrDefault(IoasidListener.SET_TOKEN_TYPE, TokenType.NONE.name());
        TokenType type;
        try {
            type = TokenType.valueOf(String.valueOf(typeName));
        } catch (IllegalArgumentException e) {
            throw new IoasidException(EINVAL, "unknown token type '" + typeName + "'");
        }
        return new ListenerEntry(sid, l, name, ranking, false, type, token, mask);
    }

    void bind(IoasidListener listener, Map<String, Object> props) {
        long sid = ServiceProperties.serviceId(props);
        ListenerEntry e;
        String rejectErrno = null;
        String rejectReason = null;
        try {
            e = entry(sid, listener, props);
        } catch (IoasidException bad) {
            e = new ListenerEntry(sid, listener, ServiceProperties.name(props, IoasidListener.NAME,
                    listener), ServiceProperties.ranking(props), true, null, null, 0);
            rejectErrno = bad.errno().name();
            rejectReason = bad.getMessage();
        }
        long ev;
        lock.lock();
        try {
            ListenerEntry known = listeners.get(sid);
            if (known != null) {
                if (known.ranking != ServiceProperties.ranking(props)) {
                    known.ranking = ServiceProperties.ranking(props);
                    rebuildAllChains();
                }
                return;
            }
            if (rejectErrno == null) {
                for (ListenerEntry o : listeners.values()) {
                    if (o.listener == listener && o.rejectErrno == null) {
                        rejectErrno = EEXIST.name();
                        rejectReason = "the same listener object is registered as " + o;
                    }
                }
            }
            listeners.put(sid, e);
            if (rejectErrno != null) {
                e.rejectErrno = rejectErrno;
                e.rejectReason = rejectReason;
                ev = 0;
            } else {
                dispatcher.startWatchdog();
                ev = add(e);
            }
        } finally {
            lock.unlock();
        }
        if (rejectErrno != null) {
            LOG.log(System.Logger.Level.ERROR, "IOASID listener " + e + " rejected: " + rejectReason);
        }
        if (ev != 0) {
            dispatcher.await(ev);
        }
    }

    /** Adds an accepted listener and replays its scope (D15); returns the last sequence. */
    private long add(ListenerEntry e) {
        long before = dispatcher.lastSequence();
        if (e.systemScope) {
            systemListeners.add(e);
            rebuildAllChains();
            replay(e, null);
        } else {
            TokenKey key = new TokenKey(e.tokenType, e.token);
            setListeners.computeIfAbsent(key, k -> new ArrayList<>()).add(e);
            SetImpl s = sets.byToken(key);
            if (s != null) {
                e.set = s;
                rebuildChain(s);
                replay(e, s);
            }
        }
        long last = dispatcher.lastSequence();
        return last == before ? 0 : last;
    }

    void updated(IoasidListener listener, Map<String, Object> props) {
        long sid = ServiceProperties.serviceId(props);
        ListenerEntry fresh;
        try {
            fresh = entry(sid, listener, props);
        } catch (IoasidException bad) {
            fresh = null;
        }
        lock.lock();
        try {
            ListenerEntry known = listeners.get(sid);
            if (known == null) {
                return;
            }
            if (fresh != null && known.rejectErrno == null && fresh.systemScope == known.systemScope
                    && fresh.mask == known.mask && Objects.equals(fresh.token, known.token)
                    && fresh.tokenType == known.tokenType) {
                known.ranking = fresh.ranking; // D12: re-order the chain for what follows
                rebuildAllChains();
                return;
            }
        } finally {
            lock.unlock();
        }
        // scope or events changed: as if it left and came back
        unbind(listener, props);
        bind(listener, props);
    }

    void unbind(IoasidListener listener, Map<String, Object> props) {
        long sid = ServiceProperties.serviceId(props);
        long ev = 0;
        lock.lock();
        try {
            ListenerEntry e = listeners.remove(sid);
            if (e == null) {
                return;
            }
            e.removed = true;
            if (e.rejectErrno != null) {
                return;
            }
            leave(e);
            // a duplicate refused because of this one may now stand in
            ListenerEntry twin = null;
            for (ListenerEntry o : listeners.values()) {
                if (o.listener == listener && EEXIST.name().equals(o.rejectErrno)
                        && (twin == null || o.serviceId < twin.serviceId)) {
                    twin = o;
                }
            }
            if (twin != null) {
                twin.rejectErrno = null;
                twin.rejectReason = null;
                ev = add(twin);
            }
        } finally {
            lock.unlock();
        }
        if (ev != 0) {
            dispatcher.await(ev);
        }
    }

    /** Takes an accepted listener out of its chains; under the core lock. */
    private void leave(ListenerEntry e) {
        if (e.systemScope) {
            systemListeners.remove(e);
            rebuildAllChains();
        } else {
            TokenKey key = new TokenKey(e.tokenType, e.token);
            List<ListenerEntry> list = setListeners.get(key);
            list.remove(e);
            if (list.isEmpty()) {
                setListeners.remove(key);
            }
            if (e.set != null) {
                SetImpl s = e.set;
                e.set = null;
                rebuildChain(s);
            }
        }
    }

    /** Puts the listener that posts to Event Admin last in every chain, replacing any other. */
    void bindEventAdmin(IoasidListener bridge) {
        Map<String, Object> props = new HashMap<>();
        props.put(Constants.SERVICE_ID, EVENT_ADMIN_LISTENER_ID);
        props.put(Constants.SERVICE_RANKING, Integer.MIN_VALUE);
        props.put(IoasidListener.NAME, "event-admin");
        unbind(null, props); // a previous Event Admin's bridge, if any
        bind(bridge, props);
    }

    void unbindEventAdmin() {
        Map<String, Object> props = new HashMap<>();
        props.put(Constants.SERVICE_ID, EVENT_ADMIN_LISTENER_ID);
        unbind(null, props);
    }
}

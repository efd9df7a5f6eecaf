package ioasid.integration.fuzz;

import static ioasid.api.Errno.EACCES;
import static ioasid.api.Errno.EBUSY;
import static ioasid.api.Errno.EEXIST;
import static ioasid.api.Errno.EINVAL;
import static ioasid.api.Errno.ENOENT;
import static ioasid.api.Errno.ENOSPC;
import static ioasid.api.Errno.EPERM;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.TreeMap;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.spi.EventType;

/**
 * A small sequential reference model of one {@link IoasidService} with the default allocator,
 * written from the Javadoc and the platform decisions, not from the implementation: for each
 * operation it says which errnos the arguments call for (any of them may be reported when
 * several apply), or what a success returns and changes. {@link #verify} compares every
 * snapshot and every known handle with it.
 */
final class IoasidModel {
    static final class MSet {
        final int id;
        final TokenType type;
        final Object token;
        final int quota;
        final IoasidSet real;
        /** The label of the platform component that alone may free the set (D19), or null. */
        String owner;
        int size;
        SetState state = SetState.ACTIVE;
        final Map<Integer, MId> spids = new TreeMap<>();

        MSet(int id, TokenType type, Object token, int quota, IoasidSet real) {
            this.id = id;
            this.type = type;
            this.token = token;
            this.quota = quota;
            this.real = real;
        }
    }

    static final class MId {
        final int id;
        final MSet set;
        final IoasidHandle real;
        int refs = 1;
        boolean freed;
        boolean reclaimed;
        int spid = Ioasid.INVALID;
        Object data;

        MId(int id, MSet set, IoasidHandle real, Object data) {
            this.id = id;
            this.set = set;
            this.real = real;
            this.data = data;
        }

        IoasidState state() {
            return reclaimed ? IoasidState.FREE : freed ? IoasidState.FREE_PENDING
                    : refs > 1 ? IoasidState.ACTIVE : IoasidState.IDLE;
        }
    }

    final IoasidService service;
    final int bits;
    final int maxId;
    int capacity;
    int available;
    boolean installed;
    /** Live sets (ACTIVE, FREE_PENDING) by ID. */
    final TreeMap<Integer, MSet> sets = new TreeMap<>();
    /** The highest set number seen: a new set gets a higher one, never a freed one (D19). */
    int highestSetId;
    /** Every set ever created, by the real object. */
    final Map<IoasidSet, MSet> setsByReal = new IdentityHashMap<>();
    /** Live IDs by number. */
    final TreeMap<Integer, MId> ids = new TreeMap<>();
    /** Every handle ever returned, stale ones included. */
    final Map<IoasidHandle, MId> handles = new IdentityHashMap<>();
    final List<IoasidHandle> handleList = new ArrayList<>();
    final List<IoasidSet> setList = new ArrayList<>();

    IoasidModel(IoasidService service) {
        this.service = service;
        CapacityDTO c = service.capacity();
        this.bits = c.idBits;
        this.maxId = c.maxId;
        this.capacity = c.capacity;
        this.available = c.available;
        for (SetDTO s : service.sets()) { // sets made before the model (the IOMMU's PASID set)
            IoasidSet real = service.findSet(s.id);
            MSet m = new MSet(s.id, TokenType.valueOf(s.tokenType), real.token(), s.quota, real);
            m.owner = s.owner;
            sets.put(s.id, m);
            highestSetId = Math.max(highestSetId, s.id);
            setsByReal.put(real, m);
        }
    }

    // ------------------------------------------------------------------ argument classes

    MSet set(IoasidSet s) {
        return s == null ? null : setsByReal.get(s);
    }

    /** The model of a handle of this service, or null for null, foreign and fake ones. */
    MId handle(IoasidHandle h) {
        return h == null ? null : handles.get(h);
    }

    boolean inSpace(int id) {
        return id >= 0 && id <= maxId;
    }

    static EnumSet<Errno> errs(Errno... e) {
        EnumSet<Errno> s = EnumSet.noneOf(Errno.class);
        for (Errno x : e) {
            s.add(x);
        }
        return s;
    }

    // ------------------------------------------------------------------ sets

    EnumSet<Errno> createSetErrors(TokenType type, Object token, int quota) {
        EnumSet<Errno> e = errs();
        if (type == null || (type == TokenType.MM && token == null) || quota < 0) {
            e.add(EINVAL);
        }
        if (type != null && token != null && sets.values().stream()
                .anyMatch(s -> s.type == type && token.equals(s.token))) {
            e.add(EEXIST);
        }
        int q = quota == 0 ? available : quota;
        if (quota >= 0 && (q == 0 || q > available)) {
            e.add(ENOSPC);
        }
        return e;
    }

    void created(IoasidSet real, TokenType type, Object token, int quota) {
        int q = quota == 0 ? available : quota;
        int id = real.id();
        Fuzz.check(id > highestSetId, "createSet: set number " + id + " was never used before, "
                + "above " + highestSetId + " (D19)");
        highestSetId = id;
        Fuzz.same(q, real.quota(), "createSet: the quota granted");
        MSet m = new MSet(id, type, token, q, real);
        available -= q;
        sets.put(id, m);
        setsByReal.put(real, m);
        setList.add(real);
    }

    EnumSet<Errno> freeSetErrors(IoasidSet s) {
        MSet m = set(s);
        return m == null || m.state == SetState.FREED ? errs(EINVAL)
                : m.owner != null ? errs(EPERM) : errs();
    }

    boolean freeSet(IoasidSet s) {
        MSet m = set(s);
        if (m.size > 0) {
            m.state = SetState.FREE_PENDING;
            return false;
        }
        finishSet(m);
        return true;
    }

    private void finishSet(MSet m) {
        m.state = SetState.FREED;
        available += m.quota;
        sets.remove(m.id);
    }

    // ------------------------------------------------------------------ capacity

    EnumSet<Errno> installErrors(int total) {
        EnumSet<Errno> e = errs();
        if (total < 1 || total > 1 << bits) {
            e.add(EINVAL);
        }
        if (installed || available != capacity) {
            e.add(Errno.EBUSY);
        }
        return e;
    }

    // ------------------------------------------------------------------ IDs

    EnumSet<Errno> allocErrors(IoasidSet s, int min, int max) {
        EnumSet<Errno> e = errs();
        MSet m = set(s);
        if (m == null || m.state == SetState.FREED || min < 1 || max > maxId || min > max) {
            e.add(EINVAL);
        }
        if (m != null && m.state == SetState.FREE_PENDING) {
            e.add(EBUSY);
        }
        if (m != null && m.state == SetState.ACTIVE && m.size >= m.quota) {
            e.add(ENOSPC);
        }
        if (min >= 1 && max <= maxId && min <= max && lowestFree(min, max) < 0) {
            e.add(ENOSPC);
        }
        return e;
    }

    int lowestFree(int min, int max) {
        for (int id = min; id <= max; id++) {
            if (!ids.containsKey(id)) {
                return id;
            }
        }
        return -1;
    }

    void allocated(IoasidHandle h, IoasidSet s, int min, int max, Object data) {
        MSet m = set(s);
        Fuzz.same(lowestFree(min, max), h.id(), "alloc: the lowest free ID in [" + min + ", "
                + max + "]");
        Fuzz.check(!handles.containsKey(h), "alloc returned a handle seen before");
        MId id = new MId(h.id(), m, h, data);
        ids.put(id.id, id);
        handles.put(h, id);
        handleList.add(h);
        m.size++;
    }

    /** Errnos of the handle forms: EINVAL for another service's (or no) handle, then stale. */
    EnumSet<Errno> handleErrors(IoasidHandle h, Errno stale) {
        MId m = handle(h);
        if (m == null) {
            return errs(EINVAL);
        }
        return m.reclaimed ? errs(stale) : errs();
    }

    void free(MId m) {
        if (m.freed) {
            return; // rule 67
        }
        m.freed = true;
        m.refs--;
        if (m.refs == 0) {
            reclaim(m);
        }
    }

    boolean put(MId m) {
        m.refs--;
        if (m.refs == 0) {
            reclaim(m);
            return true;
        }
        return false;
    }

    void reclaim(MId m) {
        m.reclaimed = true;
        ids.remove(m.id);
        if (m.spid != Ioasid.INVALID) {
            m.set.spids.remove(m.spid);
            m.spid = Ioasid.INVALID;
        }
        m.set.size--;
        if (m.set.state == SetState.FREE_PENDING && m.set.size == 0) {
            finishSet(m.set);
        }
    }

    /**
     * Errnos of the by-number forms ({@code free(set, id)}, {@code put(set, id)},
     * {@code find(set, id)}): ENOENT for an unknown ID, EACCES for another set's. A number
     * outside the space is unknown too; D1 makes it EINVAL, which their Javadoc does not name
     * (reported as a documentation gap), so either is accepted there.
     */
    EnumSet<Errno> byNumberErrors(IoasidSet s, int id, Errno unknown) {
        if (!inSpace(id)) {
            return errs(EINVAL, unknown);
        }
        MId m = ids.get(id);
        if (m == null) {
            return errs(unknown);
        }
        return s != null && s != m.set.real ? errs(EACCES) : errs();
    }

    EnumSet<Errno> freeAllErrors(IoasidSet s) {
        MSet m = set(s);
        return m == null || m.state == SetState.FREED ? errs(EINVAL) : errs();
    }

    int freeAll(IoasidSet s) {
        MSet m = set(s);
        int n = 0;
        for (MId id : new ArrayList<>(ids.values())) {
            if (id.set == m && !id.freed) {
                n++;
                free(id);
            }
        }
        return n;
    }

    EnumSet<Errno> getErrors(IoasidHandle h) {
        MId m = handle(h);
        if (m == null || m.reclaimed) {
            return errs(EINVAL);
        }
        return m.freed ? errs(EBUSY) : errs();
    }

    EnumSet<Errno> getByNumberErrors(IoasidSet s, int id) {
        EnumSet<Errno> e = byNumberErrors(s, id, EINVAL);
        if (e.isEmpty() && ids.get(id).freed) {
            e.add(EBUSY);
        }
        return e;
    }

    EnumSet<Errno> getIfOwnedErrors(Object mm, int id) {
        EnumSet<Errno> e = errs();
        if (mm == null || !inSpace(id)) {
            e.add(EINVAL);
            return e;
        }
        MId m = ids.get(id);
        if (m == null) {
            return errs(ENOENT);
        }
        if (m.set.type != TokenType.MM) {
            return errs(EINVAL);
        }
        if (!mm.equals(m.set.token)) {
            return errs(EPERM);
        }
        return m.freed ? errs(EBUSY) : errs();
    }

    EnumSet<Errno> findBySpidErrors(IoasidSet s, int spid, boolean get) {
        MSet m = set(s);
        EnumSet<Errno> e = errs();
        if (m == null || m.state == SetState.FREED || spid < 0 || spid > Ioasid.MAX_ID) {
            e.add(EINVAL);
            return e;
        }
        MId id = m.spids.get(spid);
        if (id == null) {
            return errs(ENOENT);
        }
        return get && id.freed ? errs(EBUSY) : errs();
    }

    // ------------------------------------------------------------------ data and SPIDs

    EnumSet<Errno> attachDataErrors(IoasidHandle h, Object data) {
        EnumSet<Errno> e = handleErrors(h, ENOENT);
        if (data == null) {
            e.add(EINVAL);
        }
        MId m = handle(h);
        if (m != null && !m.reclaimed && m.data != null) {
            e.add(EBUSY);
        }
        return e;
    }

    EnumSet<Errno> attachSpidErrors(IoasidHandle h, int spid) {
        EnumSet<Errno> e = handleErrors(h, ENOENT);
        if (spid < 0 || spid > Ioasid.MAX_ID) {
            e.add(EINVAL);
        }
        MId m = handle(h);
        if (m != null && !m.reclaimed) {
            if (m.freed || m.spid != Ioasid.INVALID) {
                e.add(EBUSY);
            }
            if (m.set.spids.containsKey(spid)) {
                e.add(EINVAL);
            }
        }
        return e;
    }

    void attachSpid(MId m, int spid) {
        m.spid = spid;
        m.set.spids.put(spid, m);
    }

    EnumSet<Errno> detachSpidErrors(IoasidHandle h) {
        EnumSet<Errno> e = handleErrors(h, ENOENT);
        MId m = handle(h);
        if (m != null && !m.reclaimed && m.spid == Ioasid.INVALID) {
            e.add(EINVAL);
        }
        return e;
    }

    void detachSpid(MId m) {
        m.set.spids.remove(m.spid);
        m.spid = Ioasid.INVALID;
    }

    EnumSet<Errno> notifyErrors(IoasidHandle h, EventType type) {
        EnumSet<Errno> e = handleErrors(h, ENOENT);
        if (type != EventType.BIND && type != EventType.UNBIND) {
            e.add(EINVAL);
        }
        MId m = handle(h);
        if (type == EventType.BIND && m != null && !m.reclaimed && m.freed) {
            e.add(EBUSY);
        }
        return e;
    }

    EnumSet<Errno> idsErrors(IoasidSet s, int limit) {
        return limit < 0 || (s != null && set(s) == null) ? errs(EINVAL) : errs();
    }

    // ------------------------------------------------------------------ verification

    /** The observable state, as one string: IDs, sets, capacity. */
    String snapshot() {
        SetDTO[] ss = service.sets();
        java.util.Arrays.sort(ss, java.util.Comparator.comparingInt(d -> d.id));
        return Fuzz.str(service.ids(null, Integer.MAX_VALUE)) + Fuzz.str(ss) + service.capacity();
    }

    /** Every snapshot and every handle agree with the model. */
    void verify() {
        IoasidDTO[] live = service.ids(null, Integer.MAX_VALUE);
        Fuzz.same(ids.size(), live.length, "live IDs " + Fuzz.str(live));
        int i = 0;
        for (MId m : ids.values()) {
            IoasidDTO d = live[i++];
            String where = "ID " + m.id + " " + d;
            Fuzz.same(m.id, d.id, where);
            Fuzz.same(m.set.id, d.setId, where);
            Fuzz.same(m.state().name(), d.state, where);
            Fuzz.same(m.refs, d.refs, where);
            Fuzz.same(m.spid, d.spid, where);
            Fuzz.same(m.data == null ? null : String.valueOf(m.data), d.privateData, where);
        }
        for (MId m : handles.values()) {
            String where = "handle of ID " + m.id + " " + m.real;
            Fuzz.same(m.state(), m.real.state(), where);
            Fuzz.same(m.reclaimed ? 0 : m.refs, m.real.refCount(), where);
            if (!m.reclaimed) {
                Fuzz.same(m.spid, m.real.spid(), where);
                Fuzz.check(Objects.equals(m.data, m.real.privateData()), where + " data");
            }
        }
        SetDTO[] ss = service.sets();
        java.util.Arrays.sort(ss, java.util.Comparator.comparingInt(d -> d.id));
        Fuzz.same(sets.size(), ss.length, "sets " + Fuzz.str(ss));
        i = 0;
        for (MSet m : sets.values()) {
            SetDTO d = ss[i++];
            String where = "set " + m.id + " " + d;
            Fuzz.same(m.id, d.id, where);
            Fuzz.same(m.quota, d.quota, where);
            Fuzz.same(m.owner, d.owner, where);
            Fuzz.same(m.size, d.size, where);
            Fuzz.same(m.spids.size(), d.spids, where);
            Fuzz.same(m.state.name(), d.state, where);
            Fuzz.same(m.size, m.real.size(), where);
        }
        CapacityDTO c = service.capacity();
        Fuzz.same(capacity, c.capacity, "capacity");
        Fuzz.same(available, c.available, "available capacity");
    }
}

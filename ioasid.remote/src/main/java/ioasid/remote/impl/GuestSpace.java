package ioasid.remote.impl;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetOwner;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.CapacityDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.dto.OccupancyDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.dto.StatsDTO;
import ioasid.api.spi.EventType;

/*
 * The host's IOASID space as a guest sees it: an IoasidService (registered with
 * ioasid.role=host and ioasid.vcmd.host=true) whose IDs live on a remote host, so that the VT-d
 * VCMD host and the virtio-iommu host channel allocate from it unchanged. They use createSet,
 * findSet, freeSet, alloc and free; those work, as do find and the snapshots (capacity,
 * idSpaces, sets, ids, stats), which the health checks read. Everything else (references,
 * private data, SPID attach, notify, capacity management, occupancy) is refused with
 * EOPNOTSUPP: the host owns those, and a guest has no business with them.
 *
 * Rules:
 *  1. IDs are the host's SPIDs (rule 73): the guest never sees a host ID that may change.
 *  2. Sets are guest-side views with their own token and quota (capped at the host's quota for
 *     the guest) over the guest's one set on the host; the host enforces the total.
 *  3. While the host is away, alloc fails with EAGAIN and free is kept local: the host releases
 *     the ID when the guest reconciles (GuestLink), so nothing is orphaned on either side.
 *  4. An ID the host could not give back is lost: its handle turns FREE and revoked, and freeing
 *     it fails with ENOENT naming the loss. It is never live in two guests.
 *  5. No remote call is made under this object's lock except the reconcile, which must see
 *     a still picture of what the guest holds.
 */
final class GuestSpace implements IoasidService {
    private final GuestLink link;
    // guarded by this
    private final Map<Integer, RemoteHandle> held = new TreeMap<>();
    private final List<RemoteSet> sets = new ArrayList<>();
    private final Map<Integer, String> lost = new TreeMap<>();
    private int nextSetId = 1;
    private long allocations;
    private long frees;

    GuestSpace(GuestLink link) {
        this.link = link;
    }

    // ---- sets

    @Override
    public IoasidSet createSet(TokenType type, Object token, int quota) {
        return createSet(type, token, quota, null);
    }

    @Override
    public synchronized IoasidSet createSet(TokenType type, Object token, int quota,
            SetOwner owner) {
        if (type == null || quota < 0 || type == TokenType.MM && token == null) {
            throw new IoasidException(Errno.EINVAL, "bad set: type " + type + ", token " + token
                    + ", quota " + quota);
        }
        for (RemoteSet s : sets) {
            if (token != null && s.tokenType() == type && token.equals(s.token())) {
                throw new IoasidException(Errno.EEXIST, "a set with token " + token + " exists");
            }
        }
        // before the first session the host's quota is unknown: the host enforces it anyway
        int hostQuota = link.quota() > 0 ? link.quota() : Ioasid.MAX_ID;
        int q = quota == 0 || quota > hostQuota ? hostQuota : quota;
        RemoteSet s = new RemoteSet(nextSetId++, type, token, q, owner);
        sets.add(s);
        return s;
    }

    @Override
    public boolean freeSet(IoasidSet set) {
        return freeSet(set, null);
    }

    @Override
    public synchronized boolean freeSet(IoasidSet set, SetOwner owner) {
        RemoteSet s = live(set);
        if (s.owner != null && s.owner != owner) {
            throw new IoasidException(Errno.EPERM, s + " is owned by " + s.owner);
        }
        if (s.size > 0) {
            s.state = SetState.FREE_PENDING;
            return false;
        }
        s.state = SetState.FREED;
        sets.remove(s);
        return true;
    }

    @Override
    public synchronized IoasidSet findSet(TokenType type, Object token) {
        if (type == null) {
            throw new IoasidException(Errno.EINVAL, "no token type");
        }
        for (RemoteSet s : sets) {
            if (s.tokenType() == type && java.util.Objects.equals(token, s.token())) {
                return s;
            }
        }
        throw new IoasidException(Errno.ENOENT, "no set with token " + token);
    }

    @Override
    public synchronized IoasidSet findSet(int setId) {
        for (RemoteSet s : sets) {
            if (s.id() == setId) {
                return s;
            }
        }
        throw new IoasidException(Errno.ENOENT, "no set " + setId);
    }

    private RemoteSet live(IoasidSet set) {
        if (!(set instanceof RemoteSet s) || !sets.contains(s)) {
            throw new IoasidException(Errno.EINVAL, set + " is not a live set of this host");
        }
        return s;
    }

    // ---- IDs

    @Override
    public IoasidHandle alloc(IoasidSet set, int min, int max, Object privateData) {
        RemoteSet s;
        synchronized (this) {
            s = live(set);
            if (s.state != SetState.ACTIVE) {
                throw new IoasidException(Errno.EBUSY, s + " is being freed");
            }
            if (min < 1 || max > Ioasid.MAX_ID || min > max) {
                throw new IoasidException(Errno.EINVAL, "range [" + min + ", " + max
                        + "] is not within [1, " + Ioasid.MAX_ID + "]");
            }
            if (s.size >= s.quota()) {
                throw new IoasidException(Errno.ENOSPC, s + " holds its quota of " + s.quota());
            }
            s.size++; // reserved until the host answers
        }
        String session = link.session();
        int spid;
        try {
            spid = link.alloc(session, min, max);
        } catch (RuntimeException e) {
            synchronized (this) {
                s.size--;
            }
            throw e;
        }
        RemoteHandle h = new RemoteHandle(spid, s, privateData);
        synchronized (this) {
            if (session != link.session()) {
                // a reconcile ran meanwhile without this ID: the host releases it, the guest
                // must not think it holds it
                s.size--;
                throw new IoasidException(Errno.EAGAIN, "the host connection was renewed during "
                        + "the allocation; try again");
            }
            RemoteHandle stale = held.get(spid);
            if (stale != null) {
                // the host took it back and gave it again before its notice arrived: the old
                // handle is lost, and must not free the new allocation
                stale.lost = true;
                drop(stale);
            }
            held.put(spid, h);
            lost.remove(spid);
            allocations++;
        }
        return h;
    }

    @Override
    public void free(IoasidHandle handle) {
        if (!(handle instanceof RemoteHandle h)) {
            throw new IoasidException(Errno.EINVAL, handle + " is not of this host");
        }
        synchronized (this) {
            if (held.get(h.id()) != h) {
                if (h.lost) {
                    throw new IoasidException(Errno.ENOENT, "PASID " + h.id() + " was lost: "
                            + lost.getOrDefault(h.id(), "the host did not give it back"));
                }
                throw new IoasidException(Errno.ENOENT, "PASID " + h.id() + " is freed already");
            }
            drop(h);
            frees++;
        }
        link.free(h.id());
    }

    /** Forgets an ID the guest no longer holds; a set being freed goes with its last ID. */
    private void drop(RemoteHandle h) {
        held.remove(h.id());
        h.state = IoasidState.FREE;
        RemoteSet s = h.remoteSet();
        s.size--;
        if (s.size == 0 && s.state == SetState.FREE_PENDING) {
            s.state = SetState.FREED;
            sets.remove(s);
        }
    }

    @Override
    public void free(IoasidSet set, int id) {
        free(find(set, id));
    }

    @Override
    public int freeAllInSet(IoasidSet set) {
        List<RemoteHandle> of = new ArrayList<>();
        synchronized (this) {
            RemoteSet s = live(set);
            for (RemoteHandle h : held.values()) {
                if (h.remoteSet() == s) {
                    of.add(h);
                }
            }
        }
        int n = 0;
        for (RemoteHandle h : of) {
            try {
                free(h);
                n++;
            } catch (IoasidException e) {
                // freed meanwhile
            }
        }
        return n;
    }

    @Override
    public synchronized IoasidHandle find(IoasidSet set, int id) {
        if (id < 0 || id > Ioasid.MAX_ID) {
            throw new IoasidException(Errno.EINVAL, "ID " + id + " is outside the space");
        }
        RemoteHandle h = held.get(id);
        if (h == null) {
            throw new IoasidException(Errno.ENOENT, lost.containsKey(id)
                    ? "PASID " + id + " was lost: " + lost.get(id) : "unknown PASID " + id);
        }
        if (set != null && h.set() != set) {
            throw new IoasidException(Errno.EACCES, "PASID " + id + " is of another set");
        }
        return h;
    }

    @Override
    public IoasidHandle findBySpid(IoasidSet set, int spid, boolean get) {
        if (get) {
            throw unsupported("findBySpid with a reference");
        }
        return find(set, spid); // a guest's IDs are its SPIDs
    }

    // ---- for GuestLink: what to claim after a reconnect, and what was lost

    /** The SPIDs the guest holds, ascending. */
    synchronized int[] heldSpids() {
        return held.keySet().stream().mapToInt(Integer::intValue).toArray();
    }

    /** Marks these SPIDs lost: their handles turn FREE and revoked. */
    synchronized void markLost(int[] spids, String why) {
        for (int spid : spids) {
            RemoteHandle h = held.get(spid);
            if (h != null) {
                h.lost = true;
                drop(h);
                lost.put(spid, why);
            }
        }
    }

    synchronized Map<Integer, String> lost() {
        return new TreeMap<>(lost);
    }

    /** The object to lock while the held picture must not change (a reconcile). */
    Object lock() {
        return this;
    }

    // ---- snapshots

    @Override
    public CapacityDTO capacity() {
        CapacityDTO c = new CapacityDTO();
        c.capacity = link.quota();
        synchronized (this) {
            c.available = Math.max(0, c.capacity - held.size());
        }
        c.idBits = Ioasid.DEFAULT_BITS;
        c.maxId = Ioasid.MAX_ID;
        return c;
    }

    @Override
    public synchronized IdSpaceDTO[] idSpaces() {
        IdSpaceDTO d = new IdSpaceDTO();
        d.name = "remote host " + link.target();
        d.isDefault = true;
        d.active = link.session() != null;
        d.live = held.size();
        d.members = new long[0];
        return new IdSpaceDTO[] {d};
    }

    @Override
    public AllocatorDTO[] allocators() {
        return new AllocatorDTO[0];
    }

    @Override
    public synchronized SetDTO[] sets() {
        List<SetDTO> out = new ArrayList<>();
        for (RemoteSet s : sets) {
            SetDTO d = new SetDTO();
            d.id = s.id();
            d.tokenType = s.tokenType().name();
            d.token = String.valueOf(s.token());
            d.owner = s.owner == null ? null : s.owner.label();
            d.quota = s.quota();
            d.size = s.size;
            d.spids = s.size;
            d.state = s.state.name();
            out.add(d);
        }
        return out.toArray(new SetDTO[0]);
    }

    @Override
    public ListenerDTO[] listeners() {
        return new ListenerDTO[0];
    }

    @Override
    public synchronized IoasidDTO[] ids(IoasidSet set, int limit) {
        if (limit < 0) {
            throw new IoasidException(Errno.EINVAL, "negative limit " + limit);
        }
        List<IoasidDTO> out = new ArrayList<>();
        for (RemoteHandle h : held.values()) {
            if (out.size() >= limit) {
                break;
            }
            if (set == null || h.set() == set) {
                IoasidDTO d = new IoasidDTO();
                d.id = h.id();
                d.setId = h.set().id();
                d.state = h.state().name();
                d.refs = 1;
                d.spid = h.id();
                out.add(d);
            }
        }
        return out.toArray(new IoasidDTO[0]);
    }

    @Override
    public synchronized StatsDTO stats() {
        StatsDTO d = new StatsDTO();
        d.live = held.size();
        d.allocations = allocations;
        d.reclaims = frees;
        d.revoked = lost.size();
        d.eventsDeliveredByType = Map.of();
        return d;
    }

    // ---- what a guest may not do: the host owns these

    private static IoasidException unsupported(String what) {
        return new IoasidException(Errno.EOPNOTSUPP, what + " is not offered by a remote host "
                + "space: only sets, alloc, free, find and snapshots are");
    }

    @Override
    public void installCapacity(int total) {
        throw unsupported("installCapacity");
    }

    @Override
    public int reserveCapacity(int n) {
        throw unsupported("reserveCapacity");
    }

    @Override
    public int cancelCapacity(int n) {
        throw unsupported("cancelCapacity");
    }

    @Override
    public void get(IoasidHandle handle) {
        throw unsupported("get");
    }

    @Override
    public IoasidHandle get(IoasidSet set, int id) {
        throw unsupported("get");
    }

    @Override
    public IoasidHandle getIfOwned(Object mm, int id) {
        throw unsupported("getIfOwned");
    }

    @Override
    public boolean put(IoasidHandle handle) {
        throw unsupported("put");
    }

    @Override
    public boolean put(IoasidSet set, int id) {
        throw unsupported("put");
    }

    @Override
    public void attachData(IoasidHandle handle, Object data) {
        throw unsupported("attachData");
    }

    @Override
    public Object setData(IoasidHandle handle, Object data) {
        throw unsupported("setData");
    }

    @Override
    public Object detachData(IoasidHandle handle) {
        throw unsupported("detachData");
    }

    @Override
    public void attachSpid(IoasidHandle handle, int spid) {
        throw unsupported("attachSpid");
    }

    @Override
    public void detachSpid(IoasidHandle handle) {
        throw unsupported("detachSpid");
    }

    @Override
    public void notify(IoasidHandle handle, EventType type) {
        throw unsupported("notify");
    }

    @Override
    public OccupancyDTO occupancy(int buckets) {
        throw unsupported("occupancy");
    }
}

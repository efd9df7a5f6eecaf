package ioasid.integration.stress;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.HashSet;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.SetDTO;

/**
 * One thread's IOASID operations (alloc, free, get, put, find, SPID attach and detach,
 * find-by-SPID) on its own set, with a sequential model of what it holds: the IDs it allocated and
 * did not free, the references it took (on any worker's IDs), the SPIDs it attached. Every call
 * either succeeds, and the model follows, or fails with an errno the model explains (the ID was
 * revoked because its allocator left, D7, or it belongs to another worker who freed it);
 * anything else is a violation. After the threads stop, {@link #checkSnapshot} compares the
 * models of all workers with the service's own snapshot.
 */
final class IdWorker {
    /** The most IDs, and references, one worker holds at once. */
    static final int CAP = 40;

    /** Cumulative percentages: alloc, free, get, put, find, attach SPID, detach SPID, by SPID. */
    static final int[] MIXED = {22, 40, 52, 64, 74, 84, 92, 100};
    static final int[] SPID_HEAVY = {18, 30, 38, 46, 52, 70, 84, 100};

    final String name;
    private final IoasidService ioasid;
    final IoasidSet set;
    private final int range;
    private final Random rnd;
    private final int[] mix;
    private final boolean allocatorMayLeave;
    /** Every worker's live IDs, for get on each other's IDs. */
    private final Map<IoasidHandle, Boolean> pool;
    /** SPIDs of IDs freed by their owner while others still held references. */
    private final Map<IoasidHandle, Integer> spidAtFree;

    final List<IoasidHandle> owned = new ArrayList<>();
    final Map<IoasidHandle, Integer> spidOf = new HashMap<>();
    private final Set<Integer> spidsInUse = new HashSet<>();
    final List<IoasidHandle> refs = new ArrayList<>();
    private int nextSpid;

    long ops;
    long allocated;
    long eagain;
    long revokedSeen;
    private final List<String> violations = new ArrayList<>();

    IdWorker(String name, IoasidService ioasid, IoasidSet set, int range, long seed, int[] mix,
            boolean allocatorMayLeave, Map<IoasidHandle, Boolean> pool,
            Map<IoasidHandle, Integer> spidAtFree) {
        this.name = name;
        this.ioasid = ioasid;
        this.set = set;
        this.range = range;
        this.rnd = new Random(seed);
        this.mix = mix;
        this.allocatorMayLeave = allocatorMayLeave;
        this.pool = pool;
        this.spidAtFree = spidAtFree;
    }

    static Map<IoasidHandle, Boolean> newPool() {
        return new ConcurrentHashMap<>();
    }

    List<String> violations() {
        return violations;
    }

    private void violation(String what, Throwable e) {
        if (violations.size() < 20) {
            violations.add(name + ": " + what + (e == null ? "" : ": " + e));
        } else if (violations.size() == 20) {
            violations.add(name + ": more violations left out");
        }
    }

    private IoasidHandle pick(List<IoasidHandle> from) {
        return from.get(rnd.nextInt(from.size()));
    }

    /** One random operation. */
    void step() {
        ops++;
        int r = rnd.nextInt(100);
        if (owned.isEmpty() || (r < mix[0] && owned.size() < CAP)) {
            alloc();
        } else if (r < mix[1] || (r < mix[0])) {
            free(owned.remove(rnd.nextInt(owned.size())));
        } else if (r < mix[2]) {
            get();
        } else if (r < mix[3]) {
            if (refs.isEmpty()) {
                get();
            } else {
                put(refs.remove(rnd.nextInt(refs.size())));
            }
        } else if (r < mix[4]) {
            find();
        } else if (r < mix[5]) {
            attachSpid();
        } else if (r < mix[6]) {
            detachSpid();
        } else {
            findBySpid();
        }
    }

    private void alloc() {
        try {
            IoasidHandle h = ioasid.alloc(set, 1, range, null);
            if (h.id() < 1 || h.id() > range || h.set() != set) {
                violation("alloc returned " + h.id() + " in set " + h.set().id(), null);
            }
            owned.add(h);
            pool.put(h, Boolean.TRUE);
            allocated++;
        } catch (IoasidException e) {
            if (allocatorMayLeave && e.errno() == Errno.EAGAIN) {
                eagain++; // the allocator left during the call
            } else {
                violation("alloc failed", e);
            }
        }
    }

    /** Frees an ID this worker owns (already taken out of {@link #owned}). */
    void free(IoasidHandle h) {
        pool.remove(h);
        Integer spid = spidOf.remove(h);
        if (spid != null) {
            spidsInUse.remove(spid);
        }
        try {
            ioasid.free(h);
            if (spid != null && h.state() != IoasidState.FREE) {
                spidAtFree.put(h, spid); // others hold references: the SPID stays until reclaim
            }
        } catch (IoasidException e) {
            if (e.errno() == Errno.ENOENT && h.revoked()) {
                revokedSeen++; // revoked and reclaimed by the last put
            } else {
                violation("free of own ID " + h.id() + " failed", e);
            }
        }
    }

    private void get() {
        IoasidHandle h = null;
        boolean own = rnd.nextBoolean() && !owned.isEmpty();
        if (own) {
            h = pick(owned);
        } else {
            int skip = rnd.nextInt(Math.max(1, Math.min(pool.size(), 16)));
            for (IoasidHandle x : pool.keySet()) {
                h = x;
                if (skip-- <= 0) {
                    break;
                }
            }
        }
        if (h == null || refs.size() >= CAP) {
            return;
        }
        try {
            ioasid.get(h);
            refs.add(h);
        } catch (IoasidException e) {
            Errno n = e.errno();
            boolean explained = (n == Errno.EBUSY || n == Errno.EINVAL)
                    && (!owned.contains(h) || h.revoked());
            if (!explained) {
                violation("get of ID " + h.id() + (own ? " (own)" : "") + " failed", e);
            }
        }
    }

    private void put(IoasidHandle h) {
        try {
            ioasid.put(h);
        } catch (IoasidException e) {
            violation("put of a held reference on " + h.id() + " failed", e);
        }
    }

    private void find() {
        if (!owned.isEmpty() && rnd.nextBoolean()) {
            IoasidHandle h = pick(owned);
            try {
                IoasidHandle f = ioasid.find(set, h.id());
                if (f != h && !h.revoked()) {
                    violation("find " + h.id() + " returned another handle", null);
                }
            } catch (IoasidException e) {
                if (!h.revoked()) {
                    violation("find of own ID " + h.id() + " failed", e);
                }
            }
        } else {
            int id = 1 + rnd.nextInt(range);
            try {
                IoasidHandle f = ioasid.find(null, id);
                if (f.id() != id) {
                    violation("find " + id + " returned ID " + f.id(), null);
                }
            } catch (IoasidException e) {
                if (e.errno() != Errno.ENOENT) {
                    violation("find " + id + " failed", e);
                }
            }
        }
    }

    private void attachSpid() {
        IoasidHandle h = null;
        for (int i = 0; i < 4 && h == null; i++) {
            IoasidHandle x = pick(owned);
            if (!spidOf.containsKey(x)) {
                h = x;
            }
        }
        if (h == null) {
            return;
        }
        int spid;
        do {
            spid = nextSpid;
            nextSpid = (nextSpid + 1) % Ioasid.MAX_ID;
        } while (spidsInUse.contains(spid));
        try {
            ioasid.attachSpid(h, spid);
            spidOf.put(h, spid);
            spidsInUse.add(spid);
        } catch (IoasidException e) {
            if (!((e.errno() == Errno.EBUSY || e.errno() == Errno.ENOENT) && h.revoked())) {
                violation("attach SPID " + spid + " to " + h.id() + " failed", e);
            }
        }
    }

    private IoasidHandle withSpid() {
        if (spidOf.isEmpty()) {
            return null;
        }
        for (int i = 0; i < 4; i++) {
            IoasidHandle x = pick(owned);
            if (spidOf.containsKey(x)) {
                return x;
            }
        }
        return spidOf.keySet().iterator().next();
    }

    private void detachSpid() {
        IoasidHandle h = withSpid();
        if (h == null) {
            attachSpid();
            return;
        }
        try {
            ioasid.detachSpid(h);
            spidsInUse.remove(spidOf.remove(h));
        } catch (IoasidException e) {
            if (!(e.errno() == Errno.ENOENT && h.revoked())) {
                violation("detach SPID of " + h.id() + " failed", e);
            }
        }
    }

    private void findBySpid() {
        IoasidHandle h = withSpid();
        if (h == null) {
            attachSpid();
            return;
        }
        int spid = spidOf.get(h);
        boolean get = rnd.nextBoolean() && refs.size() < CAP;
        try {
            IoasidHandle f = ioasid.findBySpid(set, spid, get);
            if (f != h) {
                violation("SPID " + spid + " found ID " + f.id() + ", attached to " + h.id(), null);
                if (get) {
                    ioasid.put(f);
                }
            } else if (get) {
                refs.add(h);
            }
        } catch (IoasidException e) {
            Errno n = e.errno();
            if (!((n == Errno.ENOENT || n == Errno.EBUSY) && h.revoked())) {
                violation("find by SPID " + spid + " (" + h.id() + ") failed", e);
            }
        }
    }

    /** Puts every reference and frees every ID this worker holds. */
    void release() {
        for (IoasidHandle h : refs) {
            put(h);
        }
        refs.clear();
        for (IoasidHandle h : owned) {
            free(h);
        }
        owned.clear();
        spidOf.clear();
        spidsInUse.clear();
    }

    // ------------------------------------------------------------------ the model against the service

    /** What the workers' models say one handle should be. */
    static final class Expected {
        boolean allocRef;
        int refs;
        int spid = Ioasid.INVALID;
    }

    /**
     * The models of all workers: every handle someone holds, with its expected references and
     * SPID. Call after the threads stopped, with nothing else running.
     */
    static Map<IoasidHandle, Expected> model(List<IdWorker> workers) {
        Map<IoasidHandle, Expected> m = new IdentityHashMap<>();
        for (IdWorker w : workers) {
            for (IoasidHandle h : w.owned) {
                Expected e = m.computeIfAbsent(h, k -> new Expected());
                e.allocRef = !h.revoked(); // D7: a revocation drops the allocation reference
                Integer spid = w.spidOf.get(h);
                e.spid = spid == null ? Ioasid.INVALID : spid;
            }
        }
        for (IdWorker w : workers) {
            for (IoasidHandle h : w.refs) {
                Expected e = m.computeIfAbsent(h, k -> new Expected());
                e.refs++;
                if (e.spid == Ioasid.INVALID && w.spidAtFree.containsKey(h)) {
                    e.spid = w.spidAtFree.get(h);
                }
            }
        }
        m.values().removeIf(e -> !e.allocRef && e.refs == 0);
        return m;
    }

    /**
     * Compares the service's snapshot of the workers' sets with the model: the same live IDs, no
     * more and no fewer, each with its references, state, SPID and revocation; the sets' sizes
     * and SPID counts; no number held twice.
     *
     * @return the violations found
     */
    static List<String> checkSnapshot(IoasidService ioasid, List<IdWorker> workers) {
        List<String> out = new ArrayList<>();
        Map<IoasidHandle, Expected> model = model(workers);
        Map<Integer, IoasidHandle> byId = new HashMap<>();
        for (IoasidHandle h : model.keySet()) {
            IoasidHandle twin = byId.put(h.id(), h);
            if (twin != null) {
                out.add("ID " + h.id() + " is held through two live handles");
            }
        }
        Map<Integer, SetDTO> setDtos = new HashMap<>();
        for (SetDTO s : ioasid.sets()) {
            setDtos.put(s.id, s);
        }
        for (IdWorker w : workers) {
            IoasidDTO[] ids = ioasid.ids(w.set, Integer.MAX_VALUE);
            int spids = 0;
            int expectedHere = 0;
            for (Map.Entry<IoasidHandle, Expected> me : model.entrySet()) {
                if (me.getKey().set() == w.set) {
                    expectedHere++;
                }
            }
            if (ids.length != expectedHere) {
                out.add(w.name + ": the service holds " + ids.length + " IDs in set " + w.set.id()
                        + ", the model " + expectedHere);
            }
            for (IoasidDTO d : ids) {
                IoasidHandle h = byId.get(d.id);
                Expected e = h == null ? null : model.get(h);
                if (e == null || h.set() != w.set) {
                    out.add(w.name + ": ID " + d.id + " (" + d.state + ", " + d.refs + " refs, "
                            + (d.revoked ? "revoked" : "not revoked") + ") is live but nobody "
                            + "holds it (lost)");
                    continue;
                }
                int refs = (e.allocRef ? 1 : 0) + e.refs;
                String state = !e.allocRef ? "FREE_PENDING" : refs > 1 ? "ACTIVE" : "IDLE";
                if (d.refs != refs || !d.state.equals(state) || d.spid != e.spid
                        || d.revoked != h.revoked() || h.refCount() != refs
                        || !h.state().name().equals(state)) {
                    out.add(w.name + ": ID " + d.id + " is " + d.state + " with " + d.refs
                            + " refs, SPID " + d.spid + (d.revoked ? ", revoked" : "")
                            + "; the model says " + state + " with " + refs + " refs, SPID "
                            + e.spid + " (handle: " + h.state() + ", " + h.refCount() + ")");
                }
                if (d.spid != Ioasid.INVALID) {
                    spids++;
                }
            }
            SetDTO s = setDtos.get(w.set.id());
            if (s == null || s.size != ids.length || s.spids != spids
                    || w.set.size() != ids.length) {
                out.add(w.name + ": set " + w.set.id() + " reports size "
                        + (s == null ? "?" : s.size) + ", " + (s == null ? "?" : s.spids)
                        + " SPIDs; its IDs: " + ids.length + ", " + spids + " SPIDs");
            }
        }
        return out;
    }
}

package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Random;
import java.util.TreeMap;
import java.util.function.Supplier;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.Ioasid;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidFixture.Recorder;
import ioasid.core.impl.IoasidFixture.SpaceAllocator;
import ioasid.core.impl.IoasidFixture.SpaceAllocator.Helpers;

/**
 * Seeded random operation sequences, each step checked against a small sequential reference
 * model: results, errnos, every live ID's state, sets, capacity, the active ID space and every
 * listener's event stream. A failure names the seed; {@code -Dioasid.model.seed=N} replays it.
 */
class ModelBasedTest {
    private static final int BITS = 7; // 127 IDs: exhaustion and collisions happen often
    private static final int MAX_ID = (1 << BITS) - 1;
    private static final int SEQUENCES = Integer.getInteger("ioasid.model.sequences", 2000);
    private static final int STEPS = Integer.getInteger("ioasid.model.steps", 150);
    private static final String[] TOKENS = {"vm1", "vm2", "vm3"};

    @Test
    @DisplayName("model: thousands of random sequences agree with the reference model step by step")
    void randomSequences() {
        Long only = Long.getLong("ioasid.model.seed");
        long base = only != null ? only : new Random().nextLong();
        int n = only != null ? 1 : SEQUENCES;
        for (int i = 0; i < n; i++) {
            long seed = base + i;
            Run run = new Run(seed);
            try (run.fx) { // each core's watchdog thread goes with its run
                run.go();
            } catch (AssertionError | RuntimeException e) {
                throw new AssertionError("model run failed; replay with -Dioasid.model.seed=" + seed
                        + ": " + e.getMessage(), e);
            }
        }
    }

    // ------------------------------------------------------------------ the reference model

    static final class MId {
        final int id;
        final MSet set;
        int refs = 1;
        boolean freed;
        boolean revoked;
        /** The helpers it was revoked from. */
        Helpers from;
        int spid = Ioasid.INVALID;
        Object data;

        MId(int id, MSet set, Object data) {
            this.id = id;
            this.set = set;
            this.data = data;
        }

        IoasidState state() {
            return freed ? IoasidState.FREE_PENDING : refs > 1 ? IoasidState.ACTIVE : IoasidState.IDLE;
        }
    }

    static final class MSet {
        final int id;
        final TokenType type;
        final Object token;
        final int quota;
        int size;
        SetState state = SetState.ACTIVE;
        final Map<Integer, MId> spids = new HashMap<>();

        MSet(int id, TokenType type, Object token, int quota) {
            this.id = id;
            this.type = type;
            this.token = token;
            this.quota = quota;
        }
    }

    static final class MAlloc {
        final long sid;
        final SpaceAllocator object;
        int ranking;
        boolean accepted;

        MAlloc(long sid, SpaceAllocator object, int ranking) {
            this.sid = sid;
            this.object = object;
            this.ranking = ranking;
        }
    }

    static final class MListener {
        final long sid;
        final Recorder object;
        final int ranking;
        final boolean system;
        final String token;
        final int mask;
        MSet joined;
        final List<String> expected = new ArrayList<>();

        MListener(long sid, Recorder object, int ranking, boolean system, String token, int mask) {
            this.sid = sid;
            this.object = object;
            this.ranking = ranking;
            this.system = system;
            this.token = token;
            this.mask = mask;
        }

        boolean wants(EventType t) {
            return (mask & (1 << t.ordinal())) != 0;
        }
    }

    static final Comparator<MAlloc> PRECEDENCE = Comparator.comparingInt((MAlloc a) -> -a.ranking)
            .thenComparingLong(a -> a.sid);

    private static final class Run {
        final long seed;
        final Random rnd;
        final IoasidFixture fx = new IoasidFixture(BITS, 60_000);
        final IoasidCore core = fx.core;

        // model state
        int capacity = 1 << BITS;
        int available = capacity;
        final TreeMap<Integer, MId> ids = new TreeMap<>();
        final Map<Integer, MSet> sets = new LinkedHashMap<>();
        final Map<MSet, IoasidSet> realSets = new HashMap<>();
        final Map<Integer, IoasidHandle> handles = new HashMap<>();
        final List<IoasidHandle> stale = new ArrayList<>();
        final List<MSet> freedSets = new ArrayList<>();
        final List<Helpers> helperPool = List.of(new Helpers("hostA", 10), new Helpers("hostB", 40),
                new Helpers("hostC", 70));
        /** The model's copy of each helper's own space. */
        final Map<Helpers, BitSet> hostUsed = new HashMap<>();
        /** Revoked IDs reclaimed while their helpers were away, returned when they come back. */
        final Map<Helpers, BitSet> owed = new HashMap<>();
        final List<MAlloc> allocs = new ArrayList<>();
        /** null: the default space. */
        Helpers active;
        final List<MListener> listeners = new ArrayList<>();
        final List<MListener> gone = new ArrayList<>();

        Run(long seed) {
            this.seed = seed;
            this.rnd = new Random(seed);
            for (Helpers h : helperPool) {
                hostUsed.put(h, new BitSet());
            }
        }

        void go() {
            for (int step = 0; step < STEPS; step++) {
                String op = step(step);
                try {
                    check();
                } catch (AssertionError e) {
                    throw new AssertionError("step " + step + " (" + op + "): " + e.getMessage(), e);
                }
            }
        }

        // ---- model helpers

        int outstandingActive() {
            int n = 0;
            for (MId m : ids.values()) {
                if (!m.revoked) {
                    n++;
                }
            }
            return n;
        }

        MAlloc best() {
            return allocs.stream().filter(a -> a.accepted).min(PRECEDENCE).orElse(null);
        }

        MAlloc leader(Helpers h) {
            return allocs.stream().filter(a -> a.accepted && a.object.helpers == h)
                    .min(PRECEDENCE).orElse(null);
        }

        void reevaluate(boolean activeDeparted) {
            MAlloc b = best();
            Helpers want = b == null ? null : b.object.helpers;
            if (want != active && (activeDeparted || outstandingActive() == 0)) {
                active = want;
            }
        }

        List<MListener> chain(MSet s) {
            List<MListener> out = new ArrayList<>();
            for (MListener l : listeners) {
                if (l.system || l.joined == s) {
                    out.add(l);
                }
            }
            out.sort(Comparator.comparingInt((MListener l) -> -l.ranking).thenComparingLong(l -> l.sid));
            return out;
        }

        void emit(EventType t, MId m, int spid) {
            for (MListener l : chain(m.set)) {
                if (l.wants(t)) {
                    l.expected.add(t + " " + m.id + " " + spid + " " + m.set.id);
                }
            }
        }

        void replay(MListener l) {
            for (MId m : ids.values()) {
                if (!l.system && l.joined != m.set) {
                    continue;
                }
                if (l.wants(EventType.ALLOC)) {
                    l.expected.add("ALLOC* " + m.id + " -1 " + m.set.id);
                }
                if (m.spid != Ioasid.INVALID && l.wants(EventType.BIND)) {
                    l.expected.add("BIND* " + m.id + " " + m.spid + " " + m.set.id);
                }
                if (m.freed && l.wants(EventType.FREE)) {
                    l.expected.add("FREE* " + m.id + " " + m.spid + " " + m.set.id);
                }
            }
        }

        void reclaim(MId m) {
            if (m.spid != Ioasid.INVALID) {
                emit(EventType.UNBIND, m, m.spid);
                m.set.spids.remove(m.spid);
            }
            ids.remove(m.id);
            stale.add(handles.remove(m.id));
            m.set.size--;
            if (!m.revoked) {
                if (active != null) {
                    hostUsed.get(active).clear(m.id); // given back to the active allocator
                }
                if (outstandingActive() == 0) {
                    reevaluate(false);
                }
            } else if (leader(m.from) != null) {
                hostUsed.get(m.from).clear(m.id); // its helpers are back: returned at once
            } else {
                owed.computeIfAbsent(m.from, k -> new BitSet()).set(m.id);
            }
            maybeFinishSet(m.set);
        }

        void maybeFinishSet(MSet s) {
            if (s.state == SetState.FREE_PENDING && s.size == 0) {
                finishSet(s);
            }
        }

        void finishSet(MSet s) {
            s.state = SetState.FREED;
            available += s.quota;
            sets.remove(s.id);
            freedSets.add(s);
            for (MListener l : listeners) {
                if (l.joined == s) {
                    l.joined = null;
                }
            }
        }

        void freeModel(MId m) {
            m.freed = true;
            m.refs--;
            emit(EventType.FREE, m, m.spid);
            if (m.refs == 0) {
                reclaim(m);
            }
        }

        MSet liveSetByToken(String token) {
            for (MSet s : sets.values()) {
                if (token.equals(s.token) && s.type == TokenType.NONE) {
                    return s;
                }
            }
            return null;
        }

        // ---- picking arguments

        <T> T pick(List<T> list) {
            return list.isEmpty() ? null : list.get(rnd.nextInt(list.size()));
        }

        MSet anySet() {
            List<MSet> all = new ArrayList<>(sets.values());
            if (!freedSets.isEmpty() && rnd.nextInt(8) == 0) {
                return pick(freedSets);
            }
            return pick(all);
        }

        MId anyId() {
            return ids.isEmpty() ? null : pick(new ArrayList<>(ids.values()));
        }

        int idArg() {
            switch (rnd.nextInt(10)) {
                case 0:
                    return -1 - rnd.nextInt(5);
                case 1:
                    return MAX_ID + 1 + rnd.nextInt(5);
                default:
                    return rnd.nextInt(MAX_ID + 1);
            }
        }

        /** Runs the real call and compares the outcome: the model's errno, or success. */
        <T> T expectOutcome(Errno want, Supplier<T> call) {
            try {
                T r = call.get();
                if (want != null) {
                    fail("expected " + want + " but the call succeeded");
                }
                return r;
            } catch (IoasidException e) {
                if (want == null) {
                    throw new AssertionError("expected success but got " + e.getMessage(), e);
                }
                assertEquals(want, e.errno(), e.getMessage());
                return null;
            }
        }

        // ---- one random step

        String step(int step) {
            int r = rnd.nextInt(100);
            if (r < 22) {
                return opAlloc();
            } else if (r < 32) {
                return opFree();
            } else if (r < 39) {
                return opGet();
            } else if (r < 46) {
                return opPut();
            } else if (r < 51) {
                return opAttachSpid();
            } else if (r < 54) {
                return opDetachSpid();
            } else if (r < 57) {
                return opFindBySpid();
            } else if (r < 61) {
                return opFind();
            } else if (r < 64) {
                return opData();
            } else if (r < 70) {
                return opCreateSet();
            } else if (r < 73) {
                return opFreeSet();
            } else if (r < 74) {
                return opFreeAll();
            } else if (r < 79) {
                return opRegisterAllocator();
            } else if (r < 83) {
                return opUnregisterAllocator();
            } else if (r < 85) {
                return opRerankAllocator();
            } else if (r < 90) {
                return opAddListener();
            } else if (r < 93) {
                return opRemoveListener();
            } else if (r < 97) {
                return opStale();
            } else {
                return opCapacity();
            }
        }

        String opAlloc() {
            MSet s = anySet();
            if (s == null) {
                return opCreateSet();
            }
            int min;
            int max;
            if (rnd.nextInt(12) == 0) {
                min = idArg();
                max = idArg();
            } else {
                min = 1 + rnd.nextInt(MAX_ID);
                max = Math.min(MAX_ID, min + rnd.nextInt(MAX_ID));
            }
            String op = "alloc set " + s.id + " [" + min + "," + max + "]";
            Errno want = null;
            int id = -1;
            Helpers h = active;
            boolean hostTook = false;
            if (min < 1 || max > MAX_ID || min > max) {
                want = Errno.EINVAL;
            } else if (s.state == SetState.FREED) {
                want = Errno.EINVAL;
            } else if (s.state == SetState.FREE_PENDING) {
                want = Errno.EBUSY;
            } else if (s.size >= s.quota) {
                want = Errno.ENOSPC;
            } else if (h == null) {
                id = min;
                while (id <= max && ids.containsKey(id)) {
                    id++;
                }
                if (id > max) {
                    want = Errno.ENOSPC;
                }
            } else {
                BitSet used = hostUsed.get(h);
                id = used.nextClearBit(Math.max(min, h.floor));
                while (id <= max && ids.containsKey(id)) {
                    // a revoked ID of another space holds it: kept back while the allocator is
                    // asked again, given back after
                    MId holder = ids.get(id);
                    assertTrue(holder.revoked && holder.from != h, "model: " + holder.id);
                    id = used.nextClearBit(id + 1);
                }
                if (id > max) {
                    want = Errno.ENOSPC;
                } else {
                    hostTook = true;
                }
            }
            Object data = rnd.nextBoolean() ? null : "d" + rnd.nextInt(5);
            IoasidSet real = realSets.get(s);
            int fmin = min;
            int fmax = max;
            IoasidHandle got = expectOutcome(want, () -> core.alloc(real, fmin, fmax, data));
            if (want == null) {
                assertEquals(id, got.id(), op);
                if (hostTook) {
                    hostUsed.get(h).set(id);
                }
                MId m = new MId(id, s, data);
                ids.put(id, m);
                handles.put(id, got);
                s.size++;
                emit(EventType.ALLOC, m, Ioasid.INVALID);
            }
            return op + " -> " + (want == null ? id : want);
        }

        String opFree() {
            MId m = anyId();
            if (m == null) {
                return opAlloc();
            }
            boolean byNumber = rnd.nextBoolean();
            MSet as = byNumber && rnd.nextInt(5) == 0 ? anySet() : m.set;
            Errno want = byNumber && as != null && as != m.set ? Errno.EACCES : null;
            IoasidHandle h = handles.get(m.id);
            IoasidSet real = as == null ? null : realSets.get(as);
            expectOutcome(want, () -> {
                if (byNumber) {
                    core.free(real, m.id);
                } else {
                    core.free(h);
                }
                return null;
            });
            if (want == null && !m.freed) {
                freeModel(m);
            }
            return "free " + m.id + (byNumber ? " by number" : "") + " -> " + want;
        }

        String opGet() {
            MId m = anyId();
            if (m == null) {
                return "get (none)";
            }
            Errno want = m.freed ? Errno.EBUSY : null;
            IoasidHandle h = handles.get(m.id);
            expectOutcome(want, () -> {
                core.get(h);
                return null;
            });
            if (want == null) {
                m.refs++;
            }
            return "get " + m.id + " -> " + want;
        }

        String opPut() {
            MId m = anyId();
            if (m == null) {
                return "put (none)";
            }
            IoasidHandle h = handles.get(m.id);
            boolean reclaimed = m.refs == 1;
            Boolean r = expectOutcome(null, () -> core.put(h));
            assertEquals(reclaimed, r);
            m.refs--;
            if (m.refs == 0) {
                if (!m.freed) {
                    m.freed = true;
                    emit(EventType.FREE, m, m.spid);
                }
                reclaim(m);
            }
            return "put " + m.id;
        }

        String opAttachSpid() {
            MId m = anyId();
            if (m == null) {
                return "attach (none)";
            }
            int spid = rnd.nextInt(20) == 0 ? -1 - rnd.nextInt(3) : rnd.nextInt(8);
            Errno want;
            if (spid < 0) {
                want = Errno.EINVAL;
            } else if (m.freed) {
                want = Errno.EBUSY;
            } else if (m.spid != Ioasid.INVALID) {
                want = Errno.EBUSY;
            } else if (m.set.spids.containsKey(spid)) {
                want = Errno.EINVAL;
            } else {
                want = null;
            }
            IoasidHandle h = handles.get(m.id);
            expectOutcome(want, () -> {
                core.attachSpid(h, spid);
                return null;
            });
            if (want == null) {
                m.spid = spid;
                m.set.spids.put(spid, m);
                emit(EventType.BIND, m, spid);
            }
            return "attach spid " + spid + " to " + m.id + " -> " + want;
        }

        String opDetachSpid() {
            MId m = anyId();
            if (m == null) {
                return "detach (none)";
            }
            Errno want = m.spid == Ioasid.INVALID ? Errno.EINVAL : null;
            IoasidHandle h = handles.get(m.id);
            expectOutcome(want, () -> {
                core.detachSpid(h);
                return null;
            });
            if (want == null) {
                emit(EventType.UNBIND, m, m.spid);
                m.set.spids.remove(m.spid);
                m.spid = Ioasid.INVALID;
            }
            return "detach spid of " + m.id + " -> " + want;
        }

        String opFindBySpid() {
            MSet s = anySet();
            if (s == null) {
                return "findBySpid (no set)";
            }
            int spid = rnd.nextInt(8);
            boolean get = rnd.nextBoolean();
            MId m = s.spids.get(spid);
            Errno want;
            if (s.state == SetState.FREED) {
                want = Errno.EINVAL;
            } else if (m == null) {
                want = Errno.ENOENT;
            } else if (get && m.freed) {
                want = Errno.EBUSY;
            } else {
                want = null;
            }
            IoasidHandle found = expectOutcome(want, () -> core.findBySpid(realSets.get(s), spid, get));
            if (want == null) {
                assertEquals(m.id, found.id());
                if (get) {
                    m.refs++;
                }
            }
            return "findBySpid " + spid + " in " + s.id + (get ? " get" : "") + " -> " + want;
        }

        String opFind() {
            int id = idArg();
            MSet as = rnd.nextBoolean() ? null : anySet();
            MId m = ids.get(id);
            Errno want;
            if (id < 0 || id > MAX_ID) {
                want = Errno.EINVAL;
            } else if (m == null) {
                want = Errno.ENOENT;
            } else if (as != null && as != m.set) {
                want = Errno.EACCES;
            } else {
                want = null;
            }
            IoasidSet real = as == null ? null : realSets.get(as);
            IoasidHandle h = expectOutcome(want, () -> core.find(real, id));
            if (want == null) {
                assertEquals(handles.get(id), h);
            }
            return "find " + id + " -> " + want;
        }

        String opData() {
            MId m = anyId();
            if (m == null) {
                return "data (none)";
            }
            IoasidHandle h = handles.get(m.id);
            switch (rnd.nextInt(3)) {
                case 0: {
                    Errno want = m.data != null ? Errno.EBUSY : null;
                    expectOutcome(want, () -> {
                        core.attachData(h, "att");
                        return null;
                    });
                    if (want == null) {
                        m.data = "att";
                    }
                    return "attachData " + m.id + " -> " + want;
                }
                case 1: {
                    Object old = expectOutcome(null, () -> core.setData(h, "set"));
                    assertEquals(m.data, old);
                    m.data = "set";
                    return "setData " + m.id;
                }
                default: {
                    Object old = expectOutcome(null, () -> core.detachData(h));
                    assertEquals(m.data, old);
                    m.data = null;
                    return "detachData " + m.id;
                }
            }
        }

        String opCreateSet() {
            boolean anonymous = rnd.nextInt(5) == 0;
            String token = anonymous ? null : TOKENS[rnd.nextInt(TOKENS.length)];
            int quota = rnd.nextInt(6) == 0 ? 0 : 1 + rnd.nextInt(40);
            Errno want = null;
            int q = quota == 0 ? available : quota;
            if (token != null && liveSetByToken(token) != null) {
                want = Errno.EEXIST;
            } else if (q == 0 || q > available) {
                want = Errno.ENOSPC;
            }
            IoasidSet real = expectOutcome(want, () -> core.createSet(TokenType.NONE, token, quota));
            if (want == null) {
                MSet s = new MSet(real.id(), TokenType.NONE, token, q);
                available -= q;
                sets.put(s.id, s);
                realSets.put(s, real);
                for (MListener l : listeners) {
                    if (!l.system && l.token.equals(token)) {
                        l.joined = s;
                    }
                }
            }
            return "createSet " + token + " quota " + quota + " -> " + want;
        }

        String opFreeSet() {
            MSet s = anySet();
            if (s == null) {
                return "freeSet (none)";
            }
            Errno want = s.state == SetState.FREED ? Errno.EINVAL : null;
            Boolean now = expectOutcome(want, () -> core.freeSet(realSets.get(s)));
            if (want == null) {
                boolean expectNow = s.size == 0;
                assertEquals(expectNow, now);
                if (expectNow) {
                    finishSet(s);
                } else {
                    s.state = SetState.FREE_PENDING;
                }
            }
            return "freeSet " + s.id + " -> " + want;
        }

        String opFreeAll() {
            MSet s = anySet();
            if (s == null) {
                return "freeAll (none)";
            }
            Errno want = s.state == SetState.FREED ? Errno.EINVAL : null;
            Integer count = expectOutcome(want, () -> core.freeAllInSet(realSets.get(s)));
            if (want == null) {
                int n = 0;
                for (MId m : new ArrayList<>(ids.values())) {
                    if (m.set == s && !m.freed) {
                        n++;
                        freeModel(m);
                    }
                }
                assertEquals(n, count);
            }
            return "freeAll " + s.id + " -> " + want;
        }

        String opRegisterAllocator() {
            SpaceAllocator object;
            MAlloc twin = rnd.nextInt(6) == 0 ? pick(allocs) : null;
            if (twin != null) {
                object = twin.object; // D6: the same object again
            } else {
                Helpers h = pick(helperPool);
                object = new SpaceAllocator(h, "a" + allocs.size());
            }
            int ranking = rnd.nextInt(3);
            boolean newGroup = leader(object.helpers) == null;
            long sid = fx.register(object, Constants.SERVICE_RANKING, ranking);
            MAlloc a = new MAlloc(sid, object, ranking);
            a.accepted = allocs.stream().noneMatch(o -> o.accepted && o.object == object);
            allocs.add(a);
            if (a.accepted && newGroup) {
                BitSet due = owed.remove(object.helpers);
                if (due != null) {
                    hostUsed.get(object.helpers).andNot(due);
                }
            }
            reevaluate(false);
            return "register " + object + "/" + object.helpers + " rank " + ranking
                    + (a.accepted ? "" : " (duplicate)");
        }

        String opUnregisterAllocator() {
            MAlloc a = pick(allocs);
            if (a == null) {
                return "unregister (none)";
            }
            fx.unregister(a.object, a.sid);
            allocs.remove(a);
            boolean departed = false;
            if (a.accepted) {
                Helpers h = a.object.helpers;
                MAlloc standIn = allocs.stream().filter(o -> !o.accepted && o.object == a.object)
                        .min(Comparator.comparingLong(o -> o.sid)).orElse(null);
                if (standIn != null) {
                    standIn.accepted = true;
                }
                boolean last = allocs.stream().noneMatch(o -> o.accepted && o.object.helpers == h);
                if (last && h == active) {
                    departed = true;
                    for (MId m : new ArrayList<>(ids.values())) {
                        if (m.revoked) {
                            continue;
                        }
                        m.revoked = true;
                        m.from = h;
                        if (!m.freed) {
                            m.freed = true;
                            m.refs--;
                            emit(EventType.FREE, m, m.spid);
                            if (m.refs == 0) {
                                reclaim(m);
                            }
                        }
                    }
                }
            }
            reevaluate(departed);
            return "unregister " + a.object + (departed ? " (revoked)" : "");
        }

        String opRerankAllocator() {
            MAlloc a = pick(allocs);
            if (a == null) {
                return "rerank (none)";
            }
            int ranking = rnd.nextInt(4);
            fx.rerank(a.object, a.sid, ranking);
            a.ranking = ranking;
            reevaluate(false);
            return "rerank " + a.object + " to " + ranking;
        }

        String opAddListener() {
            boolean system = rnd.nextInt(3) == 0;
            String token = system ? null : TOKENS[rnd.nextInt(TOKENS.length)];
            int ranking = rnd.nextInt(4) * 100;
            int mask = rnd.nextInt(4) == 0 ? 1 + rnd.nextInt(15) : 15;
            List<String> names = new ArrayList<>();
            for (EventType t : EventType.values()) {
                if ((mask & (1 << t.ordinal())) != 0) {
                    names.add(t.name());
                }
            }
            Recorder rec = new Recorder("l" + listeners.size());
            List<Object> kv = new ArrayList<>(List.of(Constants.SERVICE_RANKING, ranking,
                    IoasidListener.EVENTS, names.toArray(new String[0])));
            if (!system) {
                kv.addAll(List.of(IoasidListener.SCOPE, IoasidListener.SCOPE_SET,
                        IoasidListener.SET_TOKEN, token));
            }
            long sid = fx.register(rec, kv.toArray());
            MListener l = new MListener(sid, rec, ranking, system, token, mask);
            listeners.add(l);
            if (!system) {
                l.joined = liveSetByToken(token);
            }
            if (system || l.joined != null) {
                replay(l);
            }
            return "listener " + (system ? "system" : token) + " rank " + ranking + " mask " + mask;
        }

        String opRemoveListener() {
            MListener l = pick(listeners);
            if (l == null) {
                return "unlisten (none)";
            }
            fx.unregister(l.object, l.sid);
            listeners.remove(l);
            gone.add(l);
            return "unlisten " + l.object;
        }

        String opStale() {
            IoasidHandle h = pick(stale);
            if (h == null || ids.containsKey(h.id()) && handles.get(h.id()) == h) {
                return "stale (none)";
            }
            switch (rnd.nextInt(4)) {
                case 0:
                    expectOutcome(Errno.ENOENT, () -> {
                        core.free(h);
                        return null;
                    });
                    break;
                case 1:
                    expectOutcome(Errno.EINVAL, () -> {
                        core.get(h);
                        return null;
                    });
                    break;
                case 2:
                    expectOutcome(Errno.ENOENT, () -> core.put(h));
                    break;
                default:
                    expectOutcome(Errno.ENOENT, () -> {
                        core.attachSpid(h, 1);
                        return null;
                    });
            }
            return "stale op on " + h.id();
        }

        String opCapacity() {
            if (rnd.nextBoolean()) {
                int n = rnd.nextInt(10) - 1;
                Errno want = n < 0 ? Errno.EINVAL : n > available ? Errno.ENOSPC : null;
                Integer got = expectOutcome(want, () -> core.reserveCapacity(n));
                if (want == null) {
                    int taken = n == 0 ? available : n;
                    assertEquals(taken, got);
                    available -= taken;
                }
                return "reserve " + n + " -> " + want;
            }
            int n = rnd.nextInt(10) - 1;
            Errno want = n < 0 || (long) n + available > capacity ? Errno.EINVAL : null;
            Integer got = expectOutcome(want, () -> core.cancelCapacity(n));
            if (want == null) {
                available += n;
                assertEquals(available, got);
            }
            return "cancel " + n + " -> " + want;
        }

        // ---- comparing the model with the core

        void check() {
            assertEquals(ids.size(), core.stats().live, "live IDs");
            for (MId m : ids.values()) {
                IoasidHandle h = core.find(null, m.id);
                assertEquals(handles.get(m.id), h, "handle of " + m.id);
                assertEquals(m.state(), h.state(), "state of " + m.id);
                assertEquals(m.refs, h.refCount(), "refs of " + m.id);
                assertEquals(m.spid, h.spid(), "spid of " + m.id);
                assertEquals(m.revoked, h.revoked(), "revoked " + m.id);
                assertEquals(m.set.id, h.set().id(), "set of " + m.id);
                assertEquals(m.data, h.privateData(), "data of " + m.id);
            }
            assertEquals(available, core.capacity().available, "available capacity");
            assertEquals(sets.size(), core.sets().length, "sets");
            for (MSet s : sets.values()) {
                IoasidSet real = realSets.get(s);
                assertEquals(s.size, real.size(), "size of set " + s.id);
                assertEquals(s.state, real.state(), "state of set " + s.id);
            }
            String want = active == null ? "default" : active.name;
            String got = null;
            for (var sp : core.idSpaces()) {
                if (sp.active) {
                    got = sp.name;
                }
            }
            assertEquals(want, got, "active ID space");
            for (MListener l : listeners) {
                assertEquals(l.expected, seen(l.object), "events of " + l.object + " ("
                        + (l.system ? "system" : l.token) + ")");
            }
            for (MListener l : gone) {
                assertEquals(l.expected, seen(l.object), "events of departed " + l.object);
            }
        }

        static List<String> seen(Recorder r) {
            synchronized (r.events) {
                List<String> out = new ArrayList<>();
                for (IoasidEvent e : r.events) {
                    out.add(e.type() + (e.replay() ? "*" : "") + " " + e.id() + " " + e.spid() + " "
                            + e.set().id());
                }
                return out;
            }
        }
    }

    @Test
    @DisplayName("model: a fixed seed replays to the same outcome (the runs are deterministic)")
    void deterministic() {
        Run a = new Run(42);
        a.go();
        Run b = new Run(42);
        b.go();
        assertEquals(a.ids.keySet(), b.ids.keySet());
        assertEquals(Objects.toString(a.active), Objects.toString(b.active));
    }
}

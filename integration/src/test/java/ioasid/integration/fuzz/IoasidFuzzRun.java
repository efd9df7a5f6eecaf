package ioasid.integration.fuzz;

import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.TreeMap;
import java.util.function.Supplier;

import ioasid.api.Errno;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.SetState;
import ioasid.api.TokenType;
import ioasid.api.dto.IoasidDTO;
import ioasid.api.dto.SetDTO;
import ioasid.api.spi.EventType;
import ioasid.integration.fuzz.IoasidModel.MId;
import ioasid.integration.fuzz.IoasidModel.MSet;

/**
 * One seeded fuzz run over every public operation of an {@link IoasidService}: each step picks
 * an operation and hostile arguments (negative and huge numbers, the int extremes, null, sets
 * and handles of a second, foreign IOASID space, fakes, stale handles after free), asks the
 * {@link IoasidModel} what must happen, checks it, and verifies every snapshot against the model.
 * Plain Java, so it runs against a bare core and inside Felix alike.
 */
public final class IoasidFuzzRun {
    private final IoasidService service;
    private final IoasidService foreign;
    private final Random rnd;
    private final IoasidModel model;
    private final List<IoasidSet> foreignSets = new ArrayList<>();
    private final List<IoasidHandle> foreignHandles = new ArrayList<>();
    /** Outcomes by operation and errno ("ok" for success), for the report. */
    public final Map<String, Integer> tally = new TreeMap<>();
    private int step;
    private String op;
    /** Sets the service had before the run (the IOMMU's PASID set), which release leaves. */
    private final Set<Integer> setsBefore = new HashSet<>();

    public IoasidFuzzRun(IoasidService service, IoasidService foreign, long seed) {
        this(service, foreign, seed, null);
    }

    /**
     * A run on services an earlier run has {@linkplain #release released}: it inherits what no
     * snapshot shows, whether the capacity was installed (that happens once).
     */
    public IoasidFuzzRun(IoasidService service, IoasidService foreign, long seed,
            IoasidFuzzRun previous) {
        this.service = service;
        this.foreign = foreign;
        this.rnd = new Random(seed);
        this.model = new IoasidModel(service);
        model.installed = previous != null && previous.model.installed;
        for (SetDTO d : service.sets()) {
            setsBefore.add(d.id);
        }
        IoasidSet fs = foreign.createSet(TokenType.NONE, "foreign-" + seed, 4);
        foreignSets.add(fs);
        foreignHandles.add(foreign.alloc(fs, 1, 0xFFFFF, "foreign"));
        IoasidHandle freed = foreign.alloc(fs, 1, 0xFFFFF, null);
        foreign.free(freed);
        foreignHandles.add(freed);
        foreignSets.add(foreign.createSet(TokenType.MM, "mm-foreign-" + seed, 2));
    }

    public IoasidModel model() {
        return model;
    }

    public void go(int steps) {
        model.verify();
        for (step = 0; step < steps; step++) {
            step();
            model.verify();
        }
    }

    // ------------------------------------------------------------------ argument pools

    private <T> T pick(List<T> list) {
        return list.isEmpty() ? null : list.get(rnd.nextInt(list.size()));
    }

    private static final Object[] TOKENS = {null, "vm1", "vm2", "vm3", "", 7, "mm1", "mm2"};
    private static final Object[] MM_TOKENS = {null, "mm1", "mm2", "vm1", 7, "nobody"};
    private static final Object[] DATA = {null, "d1", "d2", 42};

    IoasidSet aSet() {
        switch (rnd.nextInt(10)) {
            case 0:
                return null;
            case 1:
                return pick(foreignSets);
            case 2:
                return FAKE_SET;
            case 3:
                return pick(model.setList); // maybe freed
            default:
                List<IoasidSet> live = new ArrayList<>();
                for (MSet s : model.sets.values()) {
                    live.add(s.real);
                }
                IoasidSet s = pick(live);
                return s != null ? s : pick(model.setList);
        }
    }

    IoasidHandle aHandle() {
        switch (rnd.nextInt(12)) {
            case 0:
                return null;
            case 1:
                return pick(foreignHandles);
            case 2:
                return FAKE_HANDLE;
            case 3:
            case 4:
                return pick(model.handleList); // often stale
            default:
                List<IoasidHandle> live = new ArrayList<>();
                for (MId m : model.ids.values()) {
                    live.add(m.real);
                }
                IoasidHandle h = pick(live);
                return h != null ? h : pick(model.handleList);
        }
    }

    int anId() {
        switch (rnd.nextInt(4)) {
            case 0:
            case 1:
                IoasidHandle h = pick(model.handleList);
                return h != null ? h.id() : Fuzz.anInt(rnd);
            default:
                return Fuzz.anInt(rnd);
        }
    }

    int aQuota() {
        switch (rnd.nextInt(5)) {
            case 0:
                return Fuzz.anInt(rnd);
            case 1:
                return 0;
            default:
                return 1 + rnd.nextInt(6);
        }
    }

    int aMin() {
        return rnd.nextInt(3) == 0 ? Fuzz.anInt(rnd) : 1 + rnd.nextInt(12);
    }

    int aMax(int min) {
        switch (rnd.nextInt(5)) {
            case 0:
                return Fuzz.anInt(rnd);
            case 1:
                return 0xFFFFF;
            default:
                return min + rnd.nextInt(6);
        }
    }

    private Object any(Object[] pool) {
        return pool[rnd.nextInt(pool.length)];
    }

    // ------------------------------------------------------------------ checked calls

    private <T> Fuzz.Outcome<T> call(String what, EnumSet<Errno> allowed, Supplier<T> call) {
        op = what;
        Fuzz.Outcome<T> o = Fuzz.call("step " + step + " " + what, allowed, model::snapshot, call);
        String name = what.substring(0, what.indexOf('('));
        tally.merge(name + " " + (o.ok() ? "ok" : o.errno.name()), 1, Integer::sum);
        return o;
    }

    private Fuzz.Outcome<Object> run(String what, EnumSet<Errno> allowed, Runnable call) {
        return call(what, allowed, () -> {
            call.run();
            return null;
        });
    }

    // ------------------------------------------------------------------ one step

    private void step() {
        switch (rnd.nextInt(30)) {
            case 0:
            case 1: {
                TokenType type = rnd.nextInt(8) == 0 ? null : rnd.nextBoolean() ? TokenType.NONE
                        : TokenType.MM;
                Object token = type == TokenType.MM ? any(MM_TOKENS) : any(TOKENS);
                int quota = aQuota();
                var o = call("createSet(" + type + ", " + token + ", " + quota + ")",
                        model.createSetErrors(type, token, quota),
                        () -> service.createSet(type, token, quota));
                if (o.ok()) {
                    model.created(o.value, type, token, quota);
                }
                break;
            }
            case 2: {
                IoasidSet s = aSet();
                var o = call("freeSet(" + s + ")", model.freeSetErrors(s),
                        () -> service.freeSet(s));
                if (o.ok()) {
                    Fuzz.same(model.freeSet(s), o.value, "freeSet: freed now");
                }
                break;
            }
            case 3: {
                TokenType type = rnd.nextInt(6) == 0 ? null : rnd.nextBoolean() ? TokenType.NONE
                        : TokenType.MM;
                Object token = any(TOKENS);
                MSet want = type == null || token == null ? null : model.sets.values().stream()
                        .filter(s -> s.type == type && token.equals(s.token)).findFirst()
                        .orElse(null);
                var o = call("findSet(" + type + ", " + token + ")", type == null
                        ? IoasidModel.errs(Errno.EINVAL) : want == null
                        ? IoasidModel.errs(Errno.ENOENT) : Fuzz.none(),
                        () -> service.findSet(type, token));
                if (o.ok()) {
                    Fuzz.check(o.value == want.real, "findSet by token: the same set object");
                }
                break;
            }
            case 4: {
                int id = rnd.nextBoolean() ? rnd.nextInt(8) : Fuzz.anInt(rnd);
                MSet want = model.sets.get(id);
                var o = call("findSet(" + id + ")", want == null
                        ? IoasidModel.errs(Errno.ENOENT) : Fuzz.none(),
                        () -> service.findSet(id));
                if (o.ok()) {
                    Fuzz.check(o.value == want.real, "findSet by ID: the same set object");
                }
                break;
            }
            case 5: {
                int total = rnd.nextInt(3) == 0 ? 1 + rnd.nextInt(1 << 20) : Fuzz.anInt(rnd);
                var o = run("installCapacity(" + total + ")", model.installErrors(total),
                        () -> service.installCapacity(total));
                if (o.ok()) {
                    model.capacity = model.available = total;
                    model.installed = true;
                }
                break;
            }
            case 6: {
                int n = rnd.nextBoolean() ? rnd.nextInt(4) : Fuzz.anInt(rnd);
                EnumSet<Errno> e = n < 0 ? IoasidModel.errs(Errno.EINVAL) : n > model.available
                        ? IoasidModel.errs(Errno.ENOSPC) : Fuzz.none();
                var o = call("reserveCapacity(" + n + ")", e, () -> service.reserveCapacity(n));
                if (o.ok()) {
                    int taken = n == 0 ? model.available : n;
                    Fuzz.same(taken, o.value, "reserveCapacity: amount reserved");
                    model.available -= taken;
                }
                break;
            }
            case 7: {
                int n = rnd.nextBoolean() ? rnd.nextInt(4) : Fuzz.anInt(rnd);
                EnumSet<Errno> e = n < 0 || (long) n + model.available > model.capacity
                        ? IoasidModel.errs(Errno.EINVAL) : Fuzz.none();
                var o = call("cancelCapacity(" + n + ")", e, () -> service.cancelCapacity(n));
                if (o.ok()) {
                    model.available += n;
                    Fuzz.same(model.available, o.value, "cancelCapacity: available now");
                }
                break;
            }
            case 8:
            case 9:
            case 10:
            case 11: {
                IoasidSet s = rnd.nextInt(5) == 0 ? aSet() : liveSetOr(aSet());
                int min = aMin();
                int max = aMax(min);
                Object data = any(DATA);
                var o = call("alloc(" + s + ", " + min + ", " + max + ", " + data + ")",
                        model.allocErrors(s, min, max), () -> service.alloc(s, min, max, data));
                if (o.ok()) {
                    model.allocated(o.value, s, min, max, data);
                }
                break;
            }
            case 12:
            case 13: {
                IoasidHandle h = aHandle();
                var o = run("free(" + h + ")", model.handleErrors(h, Errno.ENOENT),
                        () -> service.free(h));
                if (o.ok()) {
                    model.free(model.handle(h));
                }
                break;
            }
            case 14: {
                IoasidSet s = rnd.nextInt(3) == 0 ? null : aSet();
                int id = anId();
                var o = run("free(" + s + ", " + id + ")", model.byNumberErrors(s, id,
                        Errno.ENOENT), () -> service.free(s, id));
                if (o.ok()) {
                    model.free(model.ids.get(id));
                }
                break;
            }
            case 15: {
                IoasidSet s = aSet();
                var o = call("freeAllInSet(" + s + ")", model.freeAllErrors(s),
                        () -> service.freeAllInSet(s));
                if (o.ok()) {
                    Fuzz.same(model.freeAll(s), o.value, "freeAllInSet: IDs freed");
                }
                break;
            }
            case 16:
            case 17: {
                IoasidHandle h = aHandle();
                var o = run("get(" + h + ")", model.getErrors(h), () -> service.get(h));
                if (o.ok()) {
                    model.handle(h).refs++;
                }
                break;
            }
            case 18: {
                IoasidSet s = rnd.nextInt(3) == 0 ? null : aSet();
                int id = anId();
                var o = call("get(" + s + ", " + id + ")", model.getByNumberErrors(s, id),
                        () -> service.get(s, id));
                if (o.ok()) {
                    MId m = model.ids.get(id);
                    Fuzz.check(o.value == m.real, "get by number: the live handle");
                    m.refs++;
                }
                break;
            }
            case 19: {
                Object mm = any(MM_TOKENS);
                int id = anId();
                var o = call("getIfOwned(" + mm + ", " + id + ")", model.getIfOwnedErrors(mm, id),
                        () -> service.getIfOwned(mm, id));
                if (o.ok()) {
                    MId m = model.ids.get(id);
                    Fuzz.check(o.value == m.real, "getIfOwned: the live handle");
                    m.refs++;
                }
                break;
            }
            case 20:
            case 21: {
                IoasidHandle h = aHandle();
                var o = call("put(" + h + ")", model.handleErrors(h, Errno.ENOENT),
                        () -> service.put(h));
                if (o.ok()) {
                    Fuzz.same(model.put(model.handle(h)), o.value, "put: reclaimed");
                }
                break;
            }
            case 22: {
                IoasidSet s = rnd.nextInt(3) == 0 ? null : aSet();
                int id = anId();
                var o = call("put(" + s + ", " + id + ")", model.byNumberErrors(s, id,
                        Errno.ENOENT), () -> service.put(s, id));
                if (o.ok()) {
                    Fuzz.same(model.put(model.ids.get(id)), o.value, "put by number: reclaimed");
                }
                break;
            }
            case 23: {
                IoasidSet s = rnd.nextInt(2) == 0 ? null : aSet();
                int id = anId();
                var o = call("find(" + s + ", " + id + ")", model.byNumberErrors(s, id,
                        Errno.ENOENT), () -> service.find(s, id));
                if (o.ok()) {
                    Fuzz.check(o.value == model.ids.get(id).real, "find: the live handle");
                }
                break;
            }
            case 24: {
                IoasidSet s = aSet();
                int spid = rnd.nextBoolean() ? 100 + rnd.nextInt(4) : Fuzz.anInt(rnd);
                boolean get = rnd.nextBoolean();
                var o = call("findBySpid(" + s + ", " + spid + ", " + get + ")",
                        model.findBySpidErrors(s, spid, get),
                        () -> service.findBySpid(s, spid, get));
                if (o.ok()) {
                    MId m = model.set(s).spids.get(spid);
                    Fuzz.check(o.value == m.real, "findBySpid: the handle with the SPID");
                    if (get) {
                        m.refs++;
                    }
                }
                break;
            }
            case 25: {
                IoasidHandle h = aHandle();
                Object data = any(DATA);
                switch (rnd.nextInt(3)) {
                    case 0: {
                        var o = run("attachData(" + h + ", " + data + ")",
                                model.attachDataErrors(h, data), () -> service.attachData(h, data));
                        if (o.ok()) {
                            model.handle(h).data = data;
                        }
                        break;
                    }
                    case 1: {
                        var o = call("setData(" + h + ", " + data + ")",
                                model.handleErrors(h, Errno.ENOENT), () -> service.setData(h, data));
                        if (o.ok()) {
                            MId m = model.handle(h);
                            Fuzz.same(m.data, o.value, "setData: the previous data");
                            m.data = data;
                        }
                        break;
                    }
                    default: {
                        var o = call("detachData(" + h + ")", model.handleErrors(h, Errno.ENOENT),
                                () -> service.detachData(h));
                        if (o.ok()) {
                            MId m = model.handle(h);
                            Fuzz.same(m.data, o.value, "detachData: the data detached");
                            m.data = null;
                        }
                        break;
                    }
                }
                break;
            }
            case 26:
            case 27: {
                IoasidHandle h = aHandle();
                if (rnd.nextInt(3) > 0) {
                    int spid = rnd.nextBoolean() ? 100 + rnd.nextInt(4) : Fuzz.anInt(rnd);
                    var o = run("attachSpid(" + h + ", " + spid + ")",
                            model.attachSpidErrors(h, spid), () -> service.attachSpid(h, spid));
                    if (o.ok()) {
                        model.attachSpid(model.handle(h), spid);
                    }
                } else {
                    var o = run("detachSpid(" + h + ")", model.detachSpidErrors(h),
                            () -> service.detachSpid(h));
                    if (o.ok()) {
                        model.detachSpid(model.handle(h));
                    }
                }
                break;
            }
            case 28: {
                IoasidHandle h = aHandle();
                EventType[] types = EventType.values();
                EventType type = rnd.nextInt(types.length + 1) == 0 ? null
                        : types[rnd.nextInt(types.length)];
                run("notify(" + h + ", " + type + ")", model.notifyErrors(h, type),
                        () -> service.notify(h, type));
                break;
            }
            default: {
                IoasidSet s = rnd.nextInt(3) == 0 ? null : aSet();
                int limit = rnd.nextBoolean() ? rnd.nextInt(5) : Fuzz.anInt(rnd);
                var o = call("ids(" + s + ", " + limit + ")", model.idsErrors(s, limit),
                        () -> service.ids(s, limit));
                if (o.ok()) {
                    MSet m = model.set(s);
                    long want = model.ids.values().stream().filter(x -> s == null || x.set == m)
                            .count();
                    Fuzz.same((int) Math.min(want, limit), o.value.length, "ids: how many");
                }
                // the other snapshots must never fail
                call("snapshots()", Fuzz.none(), () -> Fuzz.str(service.idSpaces())
                        + Fuzz.str(service.allocators()) + Fuzz.str(service.listeners())
                        + service.stats());
                break;
            }
        }
    }

    private IoasidSet liveSetOr(IoasidSet other) {
        List<IoasidSet> live = new ArrayList<>();
        for (MSet s : model.sets.values()) {
            if (s.state == SetState.ACTIVE) {
                live.add(s.real);
            }
        }
        IoasidSet s = pick(live);
        return s != null ? s : other;
    }

    /** What the step was doing, for a failure message. */
    /**
     * Frees what the run left, IDs with every reference and the sets it made, here and in the
     * foreign space, so that the next run on the same services starts from an empty model.
     */
    public void release() {
        for (IoasidDTO d : service.ids(null, Integer.MAX_VALUE)) {
            IoasidHandle h = service.find(null, d.id);
            if (h.state() != IoasidState.FREE_PENDING) {
                service.free(h);
            }
            while (h.state() != IoasidState.FREE) {
                service.put(h);
            }
        }
        for (SetDTO d : service.sets()) {
            if (!setsBefore.contains(d.id)) {
                service.freeSet(service.findSet(d.id));
            }
        }
        for (IoasidSet s : foreignSets) {
            foreign.freeAllInSet(s);
            foreign.freeSet(s);
        }
        Fuzz.same(0, service.ids(null, Integer.MAX_VALUE).length, "IDs left after release");
        for (SetDTO d : service.sets()) {
            Fuzz.check(setsBefore.contains(d.id), "set " + d.id + " left after release");
        }
    }

    public String last() {
        return "step " + step + " " + op;
    }

    // ------------------------------------------------------------------ fakes

    /** A set no IOASID service made. */
    static final IoasidSet FAKE_SET = new IoasidSet() {
        @Override
        public int id() {
            return 1;
        }

        @Override
        public TokenType tokenType() {
            return TokenType.NONE;
        }

        @Override
        public Object token() {
            return "vm1";
        }

        @Override
        public int quota() {
            return 100;
        }

        @Override
        public int size() {
            return 0;
        }

        @Override
        public SetState state() {
            return SetState.ACTIVE;
        }

        @Override
        public String toString() {
            return "fake set 1";
        }
    };

    /** A handle no IOASID service made, claiming ID 1. */
    static final IoasidHandle FAKE_HANDLE = new IoasidHandle() {
        @Override
        public int id() {
            return 1;
        }

        @Override
        public IoasidSet set() {
            return FAKE_SET;
        }

        @Override
        public IoasidState state() {
            return IoasidState.IDLE;
        }

        @Override
        public Object privateData() {
            return null;
        }

        @Override
        public int spid() {
            return -1;
        }

        @Override
        public int refCount() {
            return 1;
        }

        @Override
        public boolean revoked() {
            return false;
        }

        @Override
        public String toString() {
            return "fake handle 1";
        }
    };
}

package ioasid.integration.fuzz;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.EnumSet;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;
import java.util.function.Supplier;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;

import ioasid.api.Errno;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.core.impl.IoasidCore;

/**
 * Fuzzed input to every public operation of the IOASID service, on a bare core (20 bits) with a
 * second core as the foreign space: each call succeeds as {@link IoasidModel} says or fails with
 * an errno its Javadoc names, and a failure changes no snapshot ({@code ids}, {@code sets},
 * {@code capacity}). A failure prints its seed; {@code -Dioasid.fuzz.seed=N} replays it,
 * {@code -Dioasid.fuzz.runs=N -Dioasid.fuzz.steps=N} run longer.
 */
class IoasidFuzzIT {
    private static final Map<String, Integer> TALLY = new TreeMap<>();

    @AfterAll
    static void report() {
        int total = TALLY.values().stream().mapToInt(Integer::intValue).sum();
        System.out.println("IoasidFuzzIT: " + total + " checked calls " + TALLY);
    }

    private static IoasidCore core() {
        return new IoasidCore(20, 10_000);
    }

    @Test
    @DisplayName("fuzz: random operation sequences with hostile arguments agree with the model")
    void ioasidOperationsAgainstTheModelFuzz() {
        int steps = Fuzz.steps(400);
        Fuzz.seeded("IoasidFuzzIT", Fuzz.runs(25), seed -> {
            IoasidFuzzRun run = new IoasidFuzzRun(core(), core(), seed);
            try {
                run.go(steps);
            } catch (AssertionError e) {
                throw Fuzz.failure(run.last() + ": " + e.getMessage(), e);
            }
            run.tally.forEach((k, v) -> TALLY.merge(k, v, Integer::sum));
        });
    }

    /** A populated space: live, ACTIVE, FREE_PENDING and stale IDs, SPIDs, MM and NONE sets. */
    private static final class Scene {
        final IoasidCore core = core();
        final IoasidCore foreign = core();
        final IoasidModel model = new IoasidModel(core);
        final IoasidSet vm = create(TokenType.NONE, "vm1", 8);
        final IoasidSet mm = create(TokenType.MM, "mm1", 4);
        final IoasidSet otherMm = create(TokenType.MM, "mm2", 4);
        final IoasidSet foreignSet = foreign.createSet(TokenType.NONE, "vm1", 8);
        final IoasidHandle foreignLive = foreign.alloc(foreignSet, 1, 0xFFFFF, null);
        final IoasidHandle idle;
        final IoasidHandle active;
        final IoasidHandle pending;
        final IoasidHandle stale;
        final IoasidHandle mmId;
        final IoasidHandle top;

        Scene() {
            idle = alloc(vm, 1, 0xFFFFF);
            active = alloc(vm, 1, 0xFFFFF);
            run(() -> core.get(active));
            model.handle(active).refs++;
            pending = alloc(vm, 1, 0xFFFFF);
            run(() -> core.get(pending));
            model.handle(pending).refs++;
            run(() -> core.attachSpid(pending, 7));
            model.attachSpid(model.handle(pending), 7);
            run(() -> core.free(pending));
            model.free(model.handle(pending));
            stale = alloc(vm, 1, 0xFFFFF);
            run(() -> core.free(stale));
            model.free(model.handle(stale));
            mmId = alloc(mm, 1, 0xFFFFF);
            top = alloc(vm, 0xFFFFF, 0xFFFFF);
            run(() -> core.attachSpid(idle, 5));
            model.attachSpid(model.handle(idle), 5);
            model.verify();
        }

        IoasidSet create(TokenType type, Object token, int quota) {
            IoasidSet s = core.createSet(type, token, quota);
            model.created(s, type, token, quota);
            return s;
        }

        IoasidHandle alloc(IoasidSet s, int min, int max) {
            IoasidHandle h = core.alloc(s, min, max, null);
            model.allocated(h, s, min, max, null);
            return h;
        }

        static void run(Runnable r) {
            r.run();
        }

        <T> Fuzz.Outcome<T> call(String what, EnumSet<Errno> allowed, Supplier<T> op) {
            Fuzz.Outcome<T> o = Fuzz.call(what, allowed, model::snapshot, op);
            String name = what.substring(0, what.indexOf('('));
            TALLY.merge(name + " " + (o.ok() ? "ok" : o.errno.name()), 1, Integer::sum);
            return o;
        }
    }

    @Test
    @DisplayName("fuzz: every by-number form and range with the int extremes, negatives and "
            + "numbers past 20 bits")
    void ioasidEdgeNumbersOnEveryByNumberFormFuzz() {
        Scene s = new Scene();
        IoasidModel m = s.model;
        IoasidSet[] sets = {null, s.vm, s.mm, s.foreignSet, IoasidFuzzRun.FAKE_SET};
        int[] numbers = concat(Fuzz.EDGE_INTS, new int[] {s.idle.id(), s.active.id(),
            s.pending.id(), s.stale.id(), s.mmId.id(), s.top.id()});
        for (int id : numbers) {
            s.call("find(null, " + id + ")", m.byNumberErrors(null, id, Errno.ENOENT),
                    () -> s.core.find(null, id));
            s.call("getIfOwned(mm1, " + id + ")", m.getIfOwnedErrors("mm1", id),
                    () -> s.core.getIfOwned("mm1", id)).ifOk(h -> m.handle(h).refs++);
            s.call("getIfOwned(mm2, " + id + ")", m.getIfOwnedErrors("mm2", id),
                    () -> s.core.getIfOwned("mm2", id)).ifOk(h -> m.handle(h).refs++);
            for (IoasidSet set : sets) {
                s.call("find(" + set + ", " + id + ")", m.byNumberErrors(set, id, Errno.ENOENT),
                        () -> s.core.find(set, id));
                s.call("get(" + set + ", " + id + ")", m.getByNumberErrors(set, id),
                        () -> s.core.get(set, id)).ifOk(h -> m.handle(h).refs++);
                if (set != null && set != s.vm && set != s.mm) {
                    // foreign and fake sets may not free or put anything here
                    s.call("free(" + set + ", " + id + ")", m.byNumberErrors(set, id,
                            Errno.ENOENT), () -> {
                                s.core.free(set, id);
                                return null;
                            });
                    s.call("put(" + set + ", " + id + ")", m.byNumberErrors(set, id,
                            Errno.ENOENT), () -> s.core.put(set, id));
                }
                s.call("findBySpid(" + set + ", " + id + ", true)", m.findBySpidErrors(set, id,
                        true), () -> s.core.findBySpid(set, id, true))
                        .ifOk(h -> m.handle(h).refs++);
            }
            s.call("attachSpid(active, " + id + ")", m.attachSpidErrors(s.active, id), () -> {
                s.core.attachSpid(s.active, id);
                return null;
            }).ifOk(x -> m.attachSpid(m.handle(s.active), id));
            s.call("ids(null, " + id + ")", m.idsErrors(null, id), () -> s.core.ids(null, id));
            s.call("reserveCapacity(" + id + ")", id < 0 ? IoasidModel.errs(Errno.EINVAL)
                    : id > m.available ? IoasidModel.errs(Errno.ENOSPC) : Fuzz.none(),
                    () -> s.core.reserveCapacity(id)).ifOk(n -> m.available -= n);
            s.call("cancelCapacity(" + id + ")", id < 0 || (long) id + m.available > m.capacity
                    ? IoasidModel.errs(Errno.EINVAL) : Fuzz.none(),
                    () -> s.core.cancelCapacity(id)).ifOk(n -> m.available = n);
            s.call("installCapacity(" + id + ")", m.installErrors(id), () -> {
                s.core.installCapacity(id);
                return null;
            });
            s.call("createSet(NONE, null, " + id + ")", m.createSetErrors(TokenType.NONE, null,
                    id), () -> s.core.createSet(TokenType.NONE, null, id))
                    .ifOk(x -> m.created(x, TokenType.NONE, null, id));
            for (int max : Fuzz.EDGE_INTS) {
                s.call("alloc(vm1, " + id + ", " + max + ")", m.allocErrors(s.vm, id, max),
                        () -> s.core.alloc(s.vm, id, max, null))
                        .ifOk(h -> m.allocated(h, s.vm, id, max, null));
            }
            m.verify();
        }
        assertTrue(TALLY.keySet().stream().anyMatch(k -> k.endsWith(" EACCES")));
    }

    @Test
    @DisplayName("fuzz: every handle operation with null, fake, foreign (live and freed) and "
            + "stale handles")
    void ioasidForeignFakeAndStaleHandlesFuzz() {
        Scene s = new Scene();
        IoasidModel m = s.model;
        IoasidHandle foreignFreed = s.foreign.alloc(s.foreignSet, 1, 0xFFFFF, null);
        s.foreign.free(foreignFreed);
        List<IoasidHandle> hostile = new java.util.ArrayList<>();
        hostile.add(null);
        hostile.add(IoasidFuzzRun.FAKE_HANDLE);
        hostile.add(s.foreignLive);
        hostile.add(foreignFreed);
        hostile.add(s.stale);
        hostile.add(s.pending);
        for (IoasidHandle h : hostile) {
            String n = h == null ? "null" : h == s.stale ? "stale" : h == s.pending
                    ? "FREE_PENDING" : h == s.foreignLive ? "foreign" : h == foreignFreed
                    ? "foreign-freed" : "fake";
            s.call("get(" + n + ")", m.getErrors(h), () -> {
                s.core.get(h);
                return null;
            });
            s.call("attachData(" + n + ")", m.attachDataErrors(h, "x"), () -> {
                s.core.attachData(h, "x");
                return null;
            }).ifOk(x -> m.handle(h).data = "x");
            s.call("setData(" + n + ")", m.handleErrors(h, Errno.ENOENT),
                    () -> s.core.setData(h, "y")).ifOk(x -> m.handle(h).data = "y");
            s.call("detachData(" + n + ")", m.handleErrors(h, Errno.ENOENT),
                    () -> s.core.detachData(h)).ifOk(x -> m.handle(h).data = null);
            s.call("attachSpid(" + n + ")", m.attachSpidErrors(h, 9), () -> {
                s.core.attachSpid(h, 9);
                return null;
            });
            s.call("detachSpid(" + n + ")", m.detachSpidErrors(h), () -> {
                s.core.detachSpid(h);
                return null;
            }).ifOk(x -> m.detachSpid(m.handle(h)));
            for (EventType t : EventType.values()) {
                s.call("notify(" + n + ", " + t + ")", m.notifyErrors(h, t), () -> {
                    s.core.notify(h, t);
                    return null;
                });
            }
            s.call("free(" + n + ")", m.handleErrors(h, Errno.ENOENT), () -> {
                s.core.free(h);
                return null;
            }).ifOk(x -> m.free(m.handle(h)));
            s.call("put(" + n + ")", m.handleErrors(h, Errno.ENOENT), () -> s.core.put(h))
                    .ifOk(x -> m.put(m.handle(h)));
            m.verify();
        }
        // the foreign space saw none of it
        assertTrue(s.foreignLive.refCount() == 1 && s.foreign.ids(null, 10).length == 1);
        // sets of another service
        for (IoasidSet set : new IoasidSet[] {null, s.foreignSet, IoasidFuzzRun.FAKE_SET}) {
            s.call("alloc(" + set + ")", m.allocErrors(set, 1, 10), () -> s.core.alloc(set, 1,
                    10, null));
            s.call("freeSet(" + set + ")", m.freeSetErrors(set), () -> s.core.freeSet(set));
            s.call("freeAllInSet(" + set + ")", m.freeAllErrors(set),
                    () -> s.core.freeAllInSet(set));
            s.call("ids(" + set + ")", m.idsErrors(set, 5), () -> s.core.ids(set, 5));
        }
        m.verify();
    }

    private static int[] concat(int[] a, int[] b) {
        int[] out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }
}

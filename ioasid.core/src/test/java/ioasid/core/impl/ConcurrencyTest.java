package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;

import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.osgi.framework.Constants;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;
import ioasid.core.impl.IoasidFixture.SpaceAllocator;
import ioasid.core.impl.IoasidFixture.SpaceAllocator.Helpers;

/**
 * Threads allocate, free, find, get, put and attach SPIDs while allocators of a shared helper
 * group (and a second, higher-ranked group) register and unregister, all members leaving now and
 * then (revocation, D7), and a listener arrives mid-run (replay, D15). Afterwards: no ID was handed
 * out twice, none was lost, every event reached every listener exactly once, in per-ID order and
 * in chain order (rule 12, D4-D7, D12-D15).
 */
class ConcurrencyTest {
    private static final int BITS = 10;
    private static final int WORKERS = 4;
    private static final int OPS = Integer.getInteger("ioasid.concurrency.ops", 60_000);
    private static final int ROUNDS = 8;

    /** Checks one listener's stream against the per-ID life cycle as events arrive. */
    static final class LifeCycleChecker implements IoasidListener {
        final String name;
        final Map<Integer, Object[]> perId = new HashMap<>(); // id -> {handle, phase}
        final List<String> violations = Collections.synchronizedList(new ArrayList<>());
        final Map<Long, Long> tickets = new ConcurrentHashMap<>();
        final AtomicLong clock;
        long allocs;
        long frees;
        long lastSeq;

        LifeCycleChecker(String name, AtomicLong clock) {
            this.name = name;
            this.clock = clock;
        }

        // phases: L live, B bound, F freeing, FB freeing and bound
        @Override
        public void onEvent(IoasidEvent e) {
            tickets.put(e.sequence(), clock.incrementAndGet());
            if (e.sequence() <= lastSeq) {
                violations.add(name + ": sequence went back at " + e);
            }
            lastSeq = e.sequence();
            Object[] st = perId.get(e.id());
            String phase = st == null ? "N" : (String) st[1];
            IoasidHandle h = st == null ? null : (IoasidHandle) st[0];
            switch (e.type()) {
                case ALLOC:
                    if (!phase.equals("N") && !phase.equals("F")) {
                        violations.add(name + ": ALLOC in phase " + phase + ": " + e);
                    }
                    if (h != null && h != e.handle() && h.state() != IoasidState.FREE) {
                        violations.add(name + ": ID " + e.id() + " handed out while its previous "
                                + "handle is " + h.state());
                    }
                    perId.put(e.id(), new Object[] {e.handle(), "L"});
                    allocs++;
                    return;
                case BIND:
                    expect(e, h, phase, "L", "B");
                    return;
                case UNBIND:
                    if (phase.equals("B")) {
                        expect(e, h, phase, "B", "L");
                    } else {
                        expect(e, h, phase, "FB", "F");
                    }
                    return;
                case FREE:
                    frees++;
                    if (phase.equals("L")) {
                        expect(e, h, phase, "L", "F");
                    } else {
                        expect(e, h, phase, "B", "FB");
                    }
                    return;
                default:
                    violations.add("unknown " + e);
            }
        }

        private void expect(IoasidEvent e, IoasidHandle h, String phase, String from, String to) {
            if (!phase.equals(from)) {
                violations.add(name + ": " + e.type() + " in phase " + phase + ": " + e);
            }
            if (h != e.handle()) {
                violations.add(name + ": " + e + " for another lifetime's handle");
            }
            perId.put(e.id(), new Object[] {e.handle(), to});
        }
    }

    @Test
    @Timeout(120)
    @DisplayName("rule 12, D4-D7, D13: concurrent operations and allocator churn keep every invariant")
    void concurrentOperationsAndChurn() throws Exception {
        long seed = Long.getLong("ioasid.concurrency.seed", new Random().nextLong());
        try {
            run(seed);
        } catch (AssertionError | Exception e) {
            throw new AssertionError("concurrency run failed; replay the random choices with "
                    + "-Dioasid.concurrency.seed=" + seed + ": " + e.getMessage(), e);
        }
    }

    private void run(long seed) throws Exception {
        IoasidFixture fx = new IoasidFixture(BITS, 30_000);
        IoasidCore core = fx.core;
        AtomicLong clock = new AtomicLong();
        LifeCycleChecker cpu = new LifeCycleChecker("cpu", clock);
        LifeCycleChecker iommu = new LifeCycleChecker("iommu", clock);
        fx.register(cpu, Constants.SERVICE_RANKING, IoasidListener.PRIORITY_CPU);
        fx.register(iommu, Constants.SERVICE_RANKING, IoasidListener.PRIORITY_IOMMU);
        List<IoasidSet> sets = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            sets.add(core.createSet(TokenType.NONE, "vm" + i, 300));
        }
        Helpers shared = new Helpers("shared", 1);
        Helpers other = new Helpers("other", 1);
        Map<IoasidHandle, Boolean> pool = new ConcurrentHashMap<>();
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong allocated = new AtomicLong();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<List<IoasidHandle>> heldRefs = new ArrayList<>();
        List<List<IoasidHandle>> owned = new ArrayList<>();
        CyclicBarrier start = new CyclicBarrier(WORKERS + 1);
        CountDownLatch done = new CountDownLatch(WORKERS);
        LifeCycleChecker[] late = new LifeCycleChecker[1];

        CyclicBarrier roundEnd = new CyclicBarrier(WORKERS);
        for (int w = 0; w < WORKERS; w++) {
            List<IoasidHandle> mine = new ArrayList<>();
            List<IoasidHandle> refs = new ArrayList<>();
            owned.add(mine);
            heldRefs.add(refs);
            Random rnd = new Random(seed + w);
            Thread t = new Thread(() -> {
                try {
                    start.await();
                    for (int round = 0; round < ROUNDS; round++) {
                        for (int i = 0; i < OPS / ROUNDS && failure.get() == null; i++) {
                            step(core, rnd, sets, mine, refs, pool, allocated);
                        }
                        // everyone lets go, so the space empties and a waiting allocator
                        // can switch in (D4)
                        release(core, mine, refs, pool);
                        roundEnd.await(30, TimeUnit.SECONDS);
                    }
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                    roundEnd.reset();
                } finally {
                    done.countDown();
                }
            }, "worker-" + w);
            t.start();
        }

        Random rnd = new Random(seed - 1);
        List<Object[]> members = new ArrayList<>(); // {allocator, sid}
        SpaceAllocator first = new SpaceAllocator(shared, "m0");
        members.add(new Object[] {first, fx.register(first)});
        Object[] waiting = null;
        start.await();
        int churn = 0;
        while (!done.await(100, TimeUnit.MICROSECONDS)) {
            churn++;
            int r = rnd.nextInt(10);
            if (r < 4 && members.size() < 3) {
                SpaceAllocator a = new SpaceAllocator(shared, "m" + churn);
                members.add(new Object[] {a, fx.register(a)});
            } else if (r < 7 && !members.isEmpty()) {
                Object[] m = members.remove(rnd.nextInt(members.size()));
                fx.unregister((SpaceAllocator) m[0], (Long) m[1]);
            } else if (r < 8) {
                if (waiting == null) {
                    SpaceAllocator a = new SpaceAllocator(other, "hi" + churn);
                    waiting = new Object[] {a, fx.register(a, Constants.SERVICE_RANKING, 5)};
                } else {
                    fx.unregister((SpaceAllocator) waiting[0], (Long) waiting[1]);
                    waiting = null;
                }
            } else if (r < 9 && late[0] == null && churn > 50) {
                late[0] = new LifeCycleChecker("late", clock);
                fx.register(late[0], Constants.SERVICE_RANKING, IoasidListener.PRIORITY_DEVICE);
            }
        }
        if (failure.get() != null) {
            throw new AssertionError("worker failed", failure.get());
        }
        for (Object[] m : members) {
            fx.unregister((SpaceAllocator) m[0], (Long) m[1]);
        }
        if (waiting != null) {
            fx.unregister((SpaceAllocator) waiting[0], (Long) waiting[1]);
        }
        // release everything the workers still hold
        for (List<IoasidHandle> refs : heldRefs) {
            for (IoasidHandle h : refs) {
                core.put(h);
            }
        }
        for (List<IoasidHandle> mine : owned) {
            for (IoasidHandle h : mine) {
                if (h.state() != IoasidState.FREE) {
                    core.free(h);
                }
            }
        }

        // nothing lost: no live ID, every set empty, the whole space allocatable again
        assertEquals(0, core.stats().live, "live IDs after everything was released");
        for (IoasidSet s : sets) {
            assertEquals(0, s.size(), "set " + s.id());
            assertTrue(core.freeSet(s), "an empty set is freed at once");
        }
        assertEquals(1 << BITS, core.capacity().available, "every quota returned (D9)");
        IoasidSet all = core.createSet(TokenType.NONE, "all", 0);
        for (int i = 1; i < 1 << BITS; i++) {
            assertEquals(i, core.alloc(all, 1, (1 << BITS) - 1, null).id());
        }
        // the hosts got every ID back: revoked ones too, once their helpers came back
        SpaceAllocator back = new SpaceAllocator(shared, "back");
        fx.register(back);
        SpaceAllocator back2 = new SpaceAllocator(other, "back2");
        fx.register(back2);
        assertEquals(0, shared.outstanding(), "shared host");
        assertEquals(0, other.outstanding(), "other host");

        // events: exactly once, in per-ID order, in chain order
        List<LifeCycleChecker> checkers = new ArrayList<>(List.of(cpu, iommu));
        if (late[0] != null) {
            checkers.add(late[0]);
        }
        for (LifeCycleChecker c : checkers) {
            assertTrue(c.violations.isEmpty(), c.name + ": " + c.violations.subList(0,
                    Math.min(5, c.violations.size())));
        }
        long total = allocated.get() + (1 << BITS) - 1;
        assertEquals(total, cpu.allocs, "one ALLOC per allocation");
        assertEquals(total, iommu.allocs);
        assertEquals(allocated.get(), cpu.frees, "one FREE per lifetime (before the refill)");
        assertEquals(cpu.tickets.keySet(), iommu.tickets.keySet(), "same events to both");
        for (Map.Entry<Long, Long> e : cpu.tickets.entrySet()) {
            assertTrue(e.getValue() < iommu.tickets.get(e.getKey()), "CPU before IOMMU");
            if (late[0] != null && late[0].tickets.containsKey(e.getKey())) {
                assertTrue(iommu.tickets.get(e.getKey()) < late[0].tickets.get(e.getKey()),
                        "IOMMU before DEVICE");
            }
        }
        assertTrue(allocated.get() > 1000, "the run did allocate: " + allocated.get());
        assertTrue(core.stats().allocatorSwitches >= 2, "allocators switched: " + core.stats());
    }

    private static void release(IoasidCore core, List<IoasidHandle> mine, List<IoasidHandle> refs,
            Map<IoasidHandle, Boolean> pool) {
        for (IoasidHandle h : refs) {
            core.put(h);
        }
        refs.clear();
        for (IoasidHandle h : mine) {
            pool.remove(h);
            try {
                core.free(h);
            } catch (IoasidException e) {
                if (e.errno() != Errno.ENOENT) { // revoked and reclaimed by another's put
                    throw e;
                }
            }
        }
        mine.clear();
    }

    private static void step(IoasidCore core, Random rnd, List<IoasidSet> sets,
            List<IoasidHandle> mine, List<IoasidHandle> refs, Map<IoasidHandle, Boolean> pool,
            AtomicLong allocated) {
        int r = rnd.nextInt(100);
        try {
            if (r < 30 || mine.isEmpty()) {
                IoasidSet s = sets.get(rnd.nextInt(sets.size()));
                IoasidHandle h = core.alloc(s, 1, (1 << BITS) - 1, null);
                allocated.incrementAndGet();
                if (h.set() != s) {
                    throw new AssertionError("wrong set");
                }
                mine.add(h);
                pool.put(h, Boolean.TRUE);
            } else if (r < 55) {
                IoasidHandle h = mine.remove(rnd.nextInt(mine.size()));
                pool.remove(h);
                core.free(h);
            } else if (r < 70) {
                IoasidHandle h = any(pool, rnd);
                if (h != null) {
                    core.get(h);
                    refs.add(h);
                }
            } else if (r < 80) {
                if (!refs.isEmpty()) {
                    core.put(refs.remove(rnd.nextInt(refs.size())));
                }
            } else if (r < 88) {
                int id = 1 + rnd.nextInt((1 << BITS) - 1);
                IoasidHandle h = core.find(null, id);
                if (h.id() != id) {
                    throw new AssertionError("find " + id + " returned " + h.id());
                }
            } else if (r < 94) {
                if (!mine.isEmpty()) {
                    IoasidHandle h = mine.get(rnd.nextInt(mine.size()));
                    core.attachSpid(h, h.id());
                }
            } else {
                if (!mine.isEmpty()) {
                    core.detachSpid(mine.get(rnd.nextInt(mine.size())));
                }
            }
        } catch (IoasidException e) {
            Errno n = e.errno();
            // what concurrency may legitimately cause; anything else fails the run
            boolean ok = n == Errno.ENOSPC || n == Errno.EBUSY || n == Errno.EAGAIN
                    || n == Errno.ENOENT || n == Errno.EINVAL;
            if (!ok) {
                throw e;
            }
        }
    }

    private static IoasidHandle any(Map<IoasidHandle, Boolean> pool, Random rnd) {
        int skip = rnd.nextInt(Math.max(1, Math.min(pool.size(), 16)));
        for (IoasidHandle h : pool.keySet()) {
            if (skip-- <= 0) {
                return h;
            }
        }
        return null;
    }

    @Test
    @Timeout(60)
    @DisplayName("rule 6: lock-free find sees either nothing or a fully built handle during churn")
    void findDuringChurn() throws Exception {
        IoasidCore core = new IoasidCore(BITS, 10_000);
        IoasidSet s = core.createSet(TokenType.NONE, "vm", 0);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> bad = new AtomicReference<>();
        Thread reader = new Thread(() -> {
            Random rnd = new Random(7);
            while (!stop.get()) {
                int id = 1 + rnd.nextInt(64);
                try {
                    IoasidHandle h = core.find(null, id);
                    if (h.id() != id || h.set() != s) {
                        bad.set(new AssertionError("torn handle for " + id));
                    }
                } catch (IoasidException e) {
                    if (e.errno() != Errno.ENOENT) {
                        bad.set(e);
                    }
                }
            }
        });
        reader.start();
        for (int i = 0; i < 200_000; i++) {
            IoasidHandle h = core.alloc(s, 1, 64, "x");
            core.free(h);
        }
        stop.set(true);
        reader.join();
        if (bad.get() != null) {
            throw new AssertionError(bad.get());
        }
        assertEquals(EventType.values().length, 4);
    }
}

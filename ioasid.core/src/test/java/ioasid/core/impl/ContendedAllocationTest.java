package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReferenceArray;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ioasid.api.Errno;
import ioasid.api.IoasidException;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidSet;
import ioasid.api.IoasidState;
import ioasid.api.TokenType;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidListener;

/**
 * More threads than cores hammer one small space through the contended lock: random allocations
 * in two sets with quotas, frees, get/put pairs, lookups and stale-handle calls, in phases. Between
 * phases, with every thread stopped, the space must agree with what the threads hold: no ID handed
 * out twice, none lost, set sizes and quotas kept, a listener told of each ALLOC and FREE exactly
 * once, and the next allocation the lowest free ID (D1, C1, C6, C7).
 */
class ContendedAllocationTest {
    private static final int BITS = 8;
    private static final int THREADS = 6;
    private static final int PHASES = 24;
    private static final int OPS = 1_000;
    private static final int QUOTA_A = 60;
    private static final int QUOTA_B = 120;
    /** Allocations made at each pause, in a set of their own, to check the lowest-first order. */
    private static final int PROBES = 40;

    @Test
    @Timeout(value = 120, unit = TimeUnit.SECONDS)
    void stateAgreesWithWhatThreadsHold() throws Exception {
        try (IoasidFixture fx = new IoasidFixture(BITS, 10_000)) {
            IoasidCore core = fx.core;
            IoasidSet a = core.createSet(TokenType.NONE, "a", QUOTA_A);
            IoasidSet b = core.createSet(TokenType.NONE, "b", QUOTA_B);
            IoasidSet probes = core.createSet(TokenType.NONE, "probes", PROBES);
            AtomicLong allocEvents = new AtomicLong();
            AtomicLong freeEvents = new AtomicLong();
            fx.register((IoasidListener) e -> {
                if (e.type() == EventType.ALLOC) {
                    allocEvents.incrementAndGet();
                } else if (e.type() == EventType.FREE) {
                    freeEvents.incrementAndGet();
                }
            }, IoasidListener.SCOPE, IoasidListener.SCOPE_SET, IoasidListener.SET_TOKEN, "a");
            AtomicReferenceArray<IoasidHandle> owner = new AtomicReferenceArray<>(1 << BITS);
            ConcurrentLinkedQueue<String> violations = new ConcurrentLinkedQueue<>();
            AtomicLong allocsInA = new AtomicLong();
            List<List<IoasidHandle>> held = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                held.add(new ArrayList<>());
            }
            CyclicBarrier phase = new CyclicBarrier(THREADS + 1);
            List<Thread> threads = new ArrayList<>();
            for (int t = 0; t < THREADS; t++) {
                List<IoasidHandle> mine = held.get(t);
                SplittableRandom r = new SplittableRandom(1234 + t);
                Thread th = new Thread(() -> {
                    try {
                        for (int p = 0; p < PHASES; p++) {
                            phase.await();
                            for (int i = 0; i < OPS; i++) {
                                step(core, r, mine, owner, violations, allocsInA, a, b);
                            }
                            phase.await();
                        }
                    } catch (Exception e) {
                        violations.add(e.toString());
                    }
                });
                threads.add(th);
                th.start();
            }
            for (int p = 0; p < PHASES; p++) {
                phase.await(); // start
                phase.await(); // every thread stopped
                checkQuiescent(core, held, owner, a, b, probes);
            }
            for (Thread th : threads) {
                th.join();
            }
            assertTrue(violations.isEmpty(), () -> String.join("\n", violations));
            for (List<IoasidHandle> mine : held) {
                for (IoasidHandle h : mine) {
                    core.free(h);
                }
            }
            assertEquals(0, a.size());
            assertEquals(0, b.size());
            assertEquals(0, core.stats().live);
            assertEquals(allocsInA.get(), allocEvents.get(), "one ALLOC per allocation in a");
            assertEquals(allocsInA.get(), freeEvents.get(), "one FREE per allocation in a");
            // everything free again: lowest first from 1
            for (int id = 1; id <= 10; id++) {
                assertEquals(id, core.alloc(b, 1, (1 << BITS) - 1, null).id());
            }
        }
    }

    private static void step(IoasidCore core, SplittableRandom r, List<IoasidHandle> mine,
            AtomicReferenceArray<IoasidHandle> owner, ConcurrentLinkedQueue<String> violations,
            AtomicLong allocsInA, IoasidSet a, IoasidSet b) {
        int op = r.nextInt(10);
        if (op < 4 || mine.isEmpty()) {
            IoasidSet s = r.nextBoolean() ? a : b;
            try {
                IoasidHandle h = core.alloc(s, 1, (1 << BITS) - 1, null);
                if (!owner.compareAndSet(h.id(), null, h)) {
                    violations.add("ID " + h.id() + " handed out twice");
                }
                if (s.size() > s.quota()) {
                    violations.add("set " + s.id() + " over quota: " + s.size());
                }
                if (s == a) {
                    allocsInA.incrementAndGet();
                }
                mine.add(h);
            } catch (IoasidException e) {
                if (e.errno() != Errno.ENOSPC) {
                    violations.add("alloc: " + e);
                }
            }
        } else if (op < 7) {
            IoasidHandle h = mine.remove(r.nextInt(mine.size()));
            owner.set(h.id(), null);
            core.free(h);
            if (h.state() != IoasidState.FREE) {
                violations.add("freed " + h + " is " + h.state());
            }
            try {
                core.get(h);
                violations.add("get of a freed handle " + h.id() + " succeeded");
            } catch (IoasidException expected) {
                // stale handle
            }
        } else if (op < 9) {
            IoasidHandle h = mine.get(r.nextInt(mine.size()));
            core.get(h);
            if (core.find(h.set(), h.id()) != h) {
                violations.add("find " + h.id() + " gave another handle");
            }
            core.put(h);
        } else {
            Thread.yield();
        }
    }

    private static void checkQuiescent(IoasidCore core, List<List<IoasidHandle>> held,
            AtomicReferenceArray<IoasidHandle> owner, IoasidSet a, IoasidSet b, IoasidSet probes) {
        int inA = 0;
        int inB = 0;
        for (int id = 1; id < owner.length(); id++) {
            IoasidHandle h = owner.get(id);
            if (h == null) {
                assertThrowsUnknown(core, id);
            } else {
                assertSame(h, core.find(null, id));
                assertEquals(IoasidState.IDLE, h.state());
                if (h.set() == a) {
                    inA++;
                } else {
                    inB++;
                }
            }
        }
        int total = held.stream().mapToInt(List::size).sum();
        assertEquals(inA + inB, total, "held handles and owned IDs disagree");
        assertEquals(inA, a.size());
        assertEquals(inB, b.size());
        assertEquals(total, core.stats().live);
        // the next allocations take the free IDs lowest first
        List<IoasidHandle> probe = new ArrayList<>();
        int expected = 0;
        while (probe.size() < PROBES) {
            do {
                expected++;
            } while (owner.get(expected) != null);
            IoasidHandle h = core.alloc(probes, 1, owner.length() - 1, null);
            assertEquals(expected, h.id(), "not the lowest free ID");
            probe.add(h);
        }
        for (IoasidHandle h : probe) {
            core.free(h);
            assertNull(owner.get(h.id()));
        }
    }

    private static void assertThrowsUnknown(IoasidCore core, int id) {
        try {
            core.find(null, id);
        } catch (IoasidException e) {
            assertEquals(Errno.ENOENT, e.errno());
            return;
        }
        throw new AssertionError("ID " + id + " is free but found");
    }
}

package ioasid.core.impl;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

/**
 * The core's lock under more threads than cores: mutual exclusion (no lost update of plain
 * fields), memory visibility from one holder to the next, and no waiter left behind for good by
 * the sleeping back-off (every thread finishes its share).
 */
class CoreLockTest {
    private static final int THREADS = 8;
    private static final int ROUNDS = 20_000;

    private final CoreLock lock = new CoreLock();
    // plain fields: only the lock orders them
    private long counter;
    private long shadow;

    @Test
    @Timeout(value = 60, unit = TimeUnit.SECONDS)
    void manyThreadsNeverOverlapAndAllFinish() throws Exception {
        CyclicBarrier start = new CyclicBarrier(THREADS);
        AtomicLong overlaps = new AtomicLong();
        List<Throwable> failures = new ArrayList<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            Thread th = new Thread(() -> {
                try {
                    start.await();
                    for (int i = 0; i < ROUNDS; i++) {
                        lock.lock();
                        try {
                            long c = counter;
                            if (shadow != c) {
                                overlaps.incrementAndGet();
                            }
                            if ((i & 63) == 0) {
                                Thread.yield(); // a holder losing its CPU
                            }
                            counter = c + 1;
                            shadow = c + 1;
                        } finally {
                            lock.unlock();
                        }
                    }
                } catch (Throwable e) {
                    synchronized (failures) {
                        failures.add(e);
                    }
                }
            });
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join();
        }
        assertTrue(failures.isEmpty(), failures.toString());
        assertEquals(0, overlaps.get(), "a holder saw another's half-done update");
        lock.lock();
        try {
            assertEquals((long) THREADS * ROUNDS, counter, "updates were lost");
        } finally {
            lock.unlock();
        }
    }
}

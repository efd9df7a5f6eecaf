package ioasid.core.impl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The core's one lock, a test-and-test-and-set spinlock. The core never runs plugin code while
 * holding it, so it is held for tens of nanoseconds: acquiring is one CAS and releasing a release
 * store, with no fence and no queue to signal. Not reentrant.
 *
 * <p>Under contention it favours throughput over the waiter's latency. A waiter looks a few times,
 * then sleeps about 20 microseconds between looks instead of spinning on the lock word: each look
 * pulls the word's cache line (and, once it wins, the bitmap, table and counters it guards) away
 * from the other core. Sleeping lets the holder run a stretch of operations with all of it in its
 * own cache, so the lock changes hands about once per sleep instead of once per operation, and
 * two busy threads together go at least as fast as one alone. A waiter's odds of winning a look
 * are the share of time the lock is free, so none waits forever; and a holder that lost its CPU
 * (more threads than cores) gets it back from sleeping waiters at once.
 */
final class CoreLock {
    private static final VarHandle STATE;
    /** Looks at the lock word, a short pause apart, before the first sleep. */
    private static final int SPIN_LOOKS = 4;
    private static final int PAUSES_PER_LOOK = 32;
    private static final long SLEEP_NANOS = 20_000;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(CoreLock.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private volatile int state;

    void lock() {
        if (!STATE.compareAndSet(this, 0, 1)) {
            contended();
        }
    }

    void unlock() {
        STATE.setRelease(this, 0);
    }

    private void contended() {
        for (int looks = 0;; looks++) {
            if (state == 0 && STATE.compareAndSet(this, 0, 1)) {
                return;
            }
            if (looks < SPIN_LOOKS) {
                for (int i = 0; i < PAUSES_PER_LOOK; i++) {
                    Thread.onSpinWait();
                }
            } else {
                LockSupport.parkNanos(SLEEP_NANOS);
            }
        }
    }
}

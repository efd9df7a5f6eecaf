package ioasid.core.impl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.locks.LockSupport;

/**
 * The core's one lock, a test-and-test-and-set spinlock. The core never runs plugin code while
 * holding it, so it is held for tens of nanoseconds: acquiring is one CAS and releasing a release
 * store, with no fence and no queue to signal. A waiter spins, then yields, then parks briefly,
 * so a holder that lost its CPU (more threads than cores) gets it back. Not reentrant.
 */
final class CoreLock {
    private static final VarHandle STATE;

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
        for (int spins = 0;; spins++) {
            if (state == 0 && STATE.compareAndSet(this, 0, 1)) {
                return;
            }
            if (spins < 128) {
                Thread.onSpinWait();
            } else if (spins < 256) {
                Thread.yield();
            } else {
                LockSupport.parkNanos(20_000);
            }
        }
    }
}

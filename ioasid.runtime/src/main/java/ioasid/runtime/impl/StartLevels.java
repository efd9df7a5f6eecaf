package ioasid.runtime.impl;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.framework.startlevel.FrameworkStartLevel;

/*
 * The framework's start-level requests, as the runtime uses them.
 *
 * The framework carries out every start-level change, of a bundle or of itself, on one thread,
 * in the order asked, and a bundle's change may wait there for seconds: behind the launch's climb
 * to the beginning level, or behind the climb to the late level (2 below). The launcher asks for
 * one for every bundle installed or updated, deploy/'s too, and a change that comes to a bundle
 * uninstalled since is reported as an error with its stack trace. So:
 *
 *  1. A bundle of deploy/ is uninstalled only once the requests asked before are done
 *     (awaitQueued). The wait is one request of the framework's own level behind them, which
 *     changes nothing; that level is the one it is heading for: the late level once it is asked
 *     for, else the one it reached at the end of the launch.
 *  2. What the first command does not need starts after it, above the beginning start level
 *     (ioasid.startlevel.late): the runtime asks for the late level once, when the launch has
 *     reached the beginning level and deploy/'s bundles found then are started (BundleInstaller
 *     3), so the backends do not wait for it.
 */
final class StartLevels implements FrameworkListener {
    /** The thread Felix runs its start-level changes on: it cannot wait for itself. */
    static final String THREAD = "FelixStartLevel";
    private static final System.Logger LOG = System.getLogger("ioasid.runtime");

    private final FrameworkStartLevel framework;
    private final int late;
    private final long timeoutMs;
    /** The level the framework is heading for; 0 until known. Guarded by this. */
    private int target;
    /** This object's requests not yet done. Guarded by this. */
    private int pending;
    private boolean raised;
    private boolean closed;

    /**
     * @param late the late start level, or 0 for none
     * @param timeoutMs how long awaitQueued waits at most
     */
    StartLevels(BundleContext context, int late, long timeoutMs) {
        this.framework = context.getBundle(Constants.SYSTEM_BUNDLE_LOCATION)
                .adapt(FrameworkStartLevel.class);
        this.late = late;
        this.timeoutMs = timeoutMs;
        // started by a climb, the runtime learns its end from the framework (frameworkEvent);
        // started by a call of its own, it finds the framework where it stays
        if (!Thread.currentThread().getName().equals(THREAD)) {
            target = framework.getStartLevel();
        }
    }

    /** 2 above: asks for the late level, once, when there is one above the framework's. */
    void raise() {
        synchronized (this) {
            if (raised || late <= framework.getStartLevel()) {
                return;
            }
            raised = true;
            target = late;
            pending++;
        }
        framework.setStartLevel(late, e -> done());
    }

    /**
     * 1 above: returns once every start-level request asked before this call is done, or after
     * the timeout (false), at once on the start-level thread itself and once closed.
     */
    boolean awaitQueued() throws InterruptedException {
        if (Thread.currentThread().getName().equals(THREAD)) {
            return false;
        }
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
        int level;
        synchronized (this) {
            while (target == 0 && !closed) {
                long left = deadline - System.nanoTime();
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.timedWait(this, left);
            }
            if (closed) {
                return false;
            }
            level = target;
            pending++;
        }
        CountDownLatch latch = new CountDownLatch(1);
        framework.setStartLevel(level, e -> {
            done();
            latch.countDown();
        });
        long left = deadline - System.nanoTime();
        boolean on = latch.await(Math.max(left, 0), TimeUnit.NANOSECONDS);
        if (!on) {
            LOG.log(System.Logger.Level.DEBUG, "start-level requests still pending after "
                    + timeoutMs + " ms");
        }
        return on;
    }

    private synchronized void done() {
        pending--;
    }

    /**
     * Learns the level from the framework when no request of this object is under way: at the
     * end of the launch, and after a change asked by someone else (the console's frameworklevel).
     */
    @Override
    public synchronized void frameworkEvent(FrameworkEvent event) {
        if (event.getType() == FrameworkEvent.STARTLEVEL_CHANGED && pending == 0) {
            target = framework.getStartLevel();
            notifyAll();
        }
    }

    /** Releases the waiters: the runtime stops. */
    synchronized void close() {
        closed = true;
        notifyAll();
    }
}

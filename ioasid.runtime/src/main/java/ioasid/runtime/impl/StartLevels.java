package ioasid.runtime.impl;

import java.util.Timer;
import java.util.TimerTask;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.osgi.framework.BundleContext;
import org.osgi.framework.Constants;
import org.osgi.framework.FrameworkEvent;
import org.osgi.framework.FrameworkListener;
import org.osgi.framework.InvalidSyntaxException;
import org.osgi.framework.ServiceReference;
import org.osgi.framework.startlevel.FrameworkStartLevel;
import org.osgi.util.tracker.ServiceTracker;

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
 *     3), and the platform is ready (the health checks' readiness condition) or READY_MS have
 *     passed: the backends and the first command do not share the processors with it.
 */
final class StartLevels implements FrameworkListener {
    /** The health checks' readiness, as iommu:await sees it. */
    static final String READY = "(&(objectClass=org.osgi.service.condition.Condition)"
            + "(osgi.condition.id=felix.hc.readiness))";
    /** How long after the launch the late level waits for readiness at most. */
    static final long READY_MS = 3000;
    /** The thread Felix runs its start-level changes on: it cannot wait for itself. */
    static final String THREAD = "FelixStartLevel";
    private static final System.Logger LOG = System.getLogger("ioasid.runtime");

    private final BundleContext context;
    private final FrameworkStartLevel framework;
    private final int late;
    private final long timeoutMs;
    /** The level the framework is heading for; 0 until known. Guarded by this. */
    private int target;
    /** This object's requests not yet done. Guarded by this. */
    private int pending;
    private boolean raised;
    private boolean closed;
    private ServiceTracker<?, ?> ready;
    private Timer timer;

    /**
     * @param late the late start level, or 0 for none
     * @param timeoutMs how long awaitQueued waits at most
     */
    StartLevels(BundleContext context, int late, long timeoutMs) {
        this.context = context;
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

    /** 2 above: raises once the platform is ready, or after {@code maxMs} at the latest. */
    void raiseWhenReady(long maxMs) {
        ServiceTracker<?, ?> t;
        synchronized (this) {
            if (raised || closed || ready != null || late <= framework.getStartLevel()) {
                return;
            }
            try {
                t = new ServiceTracker<Object, Object>(context, context.createFilter(READY),
                        null) {
                    @Override
                    public Object addingService(ServiceReference<Object> ref) {
                        raise();
                        return null;
                    }
                };
            } catch (InvalidSyntaxException e) {
                throw new IllegalStateException(e);
            }
            ready = t;
            timer = new Timer("ioasid late start level", true);
            timer.schedule(new TimerTask() {
                @Override
                public void run() {
                    raise();
                }
            }, maxMs);
        }
        t.open();
    }

    /** 2 above: asks for the late level, once, when there is one above the framework's. */
    void raise() {
        synchronized (this) {
            if (raised || closed || late <= framework.getStartLevel()) {
                return;
            }
            raised = true;
            target = late;
            pending++;
            if (timer != null) {
                timer.cancel();
            }
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
    void close() {
        ServiceTracker<?, ?> t;
        synchronized (this) {
            closed = true;
            notifyAll();
            if (timer != null) {
                timer.cancel();
            }
            t = ready;
        }
        if (t != null) {
            t.close();
        }
    }
}

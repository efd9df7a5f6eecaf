package ioasid.core.impl;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;

import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;

/**
 * Delivers events to listeners in sequence order, outside the core's lock.
 *
 * <p>The core's invariant it enforces (C1-C10, numbered with IoasidCore's): <em>C8. Events are sequenced
 * under the lock, so one ID's events keep their order, and delivered outside it, in chain order,
 * so listeners may call back in.</em> And D14: a listener that throws or stalls does not stop the
 * chain, and is reported.
 *
 * <p>Producers append under the core lock, so the queue is in transition order. After unlocking,
 * a producer waits until its last event has been delivered, delivering it itself when no other
 * thread is doing so: one thread at a time drains the queue, which keeps every listener's events
 * in order. A listener calling back into the core is already on the draining thread, so the
 * events it causes are simply queued behind the current one and the call returns: no deadlock.
 *
 * <p>A watchdog looks at the call in progress; when the same call is still running after the stall
 * timeout, it marks the listener stalled (skipped from then on), takes the draining role away
 * from the stuck thread, and lets a fresh thread carry on with the next listener. The stuck thread
 * finds out when its call returns, from the failed compare-and-set on {@code inCall}.
 */
final class Dispatcher {
    private static final System.Logger LOG = System.getLogger("ioasid.core");
    private static final VarHandle DRAINER;
    private static final VarHandle IN_CALL;
    private static final VarHandle NEXT;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            DRAINER = l.findVarHandle(Dispatcher.class, "drainer", Thread.class);
            IN_CALL = l.findVarHandle(Dispatcher.class, "inCall", ListenerEntry.class);
            NEXT = l.findVarHandle(Pending.class, "next", Pending.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    static final class Pending {
        /** Both cleared once delivered: the queue's head must not keep a departed listener. */
        IoasidEvent event;
        ListenerEntry[] chain;
        /** Release-stored by producers, acquire-loaded by the drainer. */
        Pending next;

        Pending(IoasidEvent event, ListenerEntry[] chain) {
            this.event = event;
            this.chain = chain;
        }
    }

    /** Written by producers under the core lock only. */
    private Pending tail;
    /** The sequence of the last event queued; written by producers under the core lock only. */
    private long seq;
    /** The last event fully delivered; owned by the draining thread. */
    private Pending head;
    /** Next listener of {@code head.next} to call; owned by the draining thread. */
    private int cursor;
    private volatile long deliveredSeq;
    private volatile Thread drainer;
    private volatile ListenerEntry inCall;
    /** Calls started; a watchdog sees the same value twice only if one call lasted a whole tick. */
    private long calls;
    private volatile int waiters;
    private final Object monitor = new Object();

    private volatile long stallNanos;
    private ScheduledExecutorService watchdog;
    private ScheduledFuture<?> tick;
    private ListenerEntry watched;
    private long watchedCall = -1;
    private long watchedSince;

    // Counters: written by the draining thread, read loosely for snapshots.
    long eventsDelivered;
    /** Deliveries by event type, indexed by ordinal; kept by the draining thread, as above. */
    final long[] deliveredByType = new long[EventType.values().length];
    long listenerFailures;
    volatile long listenerStalls;

    Dispatcher(long stallTimeoutMillis) {
        head = tail = new Pending(null, ListenerEntry.NONE);
        stallNanos = TimeUnit.MILLISECONDS.toNanos(stallTimeoutMillis);
    }

    /**
     * Queues an event for the handle's set chain; returns its sequence, or 0 if no listener in
     * the chain wants it. Caller holds the core lock.
     */
    long emit(EventType type, HandleImpl h, int spid) {
        SetImpl s = h.set;
        if ((s.chainMask & (1 << type.ordinal())) == 0) {
            return 0;
        }
        long n = ++seq;
        enqueue(new IoasidEvent(type, h, h.id, spid, s, h.dataAcquire(), false, n), s.chain);
        return n;
    }

    /** The next sequence, for an event queued with {@link #enqueue}. Caller holds the core lock. */
    long nextSequence() {
        return ++seq;
    }

    /** The sequence of the last event queued. Caller holds the core lock. */
    long lastSequence() {
        return seq;
    }

    /** Appends an event. Caller holds the core lock, which orders the queue. */
    void enqueue(IoasidEvent event, ListenerEntry[] chain) {
        Pending p = new Pending(event, chain);
        // release is enough to publish it; the lock's unlock orders the rest
        NEXT.setRelease(tail, p);
        tail = p;
    }

    /**
     * Returns once the event with sequence {@code seq} and all before it were delivered, or at
     * once when called by a listener (its events follow the one being delivered).
     */
    void await(long seq) {
        if (deliveredSeq >= seq) {
            return;
        }
        Thread me = Thread.currentThread();
        if (drainer == me) {
            return;
        }
        boolean interrupted = false;
        for (;;) {
            if (deliveredSeq >= seq) {
                break;
            }
            if (drainer == null && DRAINER.compareAndSet(this, null, me)) {
                try {
                    drain();
                } finally {
                    release(me);
                }
                continue;
            }
            synchronized (monitor) {
                waiters++;
                try {
                    if (deliveredSeq < seq && drainer != null) {
                        monitor.wait(10);
                    }
                } catch (InterruptedException e) {
                    interrupted = true;
                } finally {
                    waiters--;
                }
            }
        }
        if (interrupted) {
            me.interrupt();
        }
    }

    private void release(Thread me) {
        DRAINER.compareAndSet(this, me, null);
        wakeWaiters();
    }

    private void wakeWaiters() {
        if (waiters != 0) {
            synchronized (monitor) {
                monitor.notifyAll();
            }
        }
    }

    /** Delivers until the queue is empty; returns early if the role was taken away. */
    private void drain() {
        for (;;) {
            Pending n = (Pending) NEXT.getAcquire(head);
            if (n == null) {
                return;
            }
            IoasidEvent e = n.event;
            ListenerEntry[] chain = n.chain;
            while (cursor < chain.length) {
                ListenerEntry l = chain[cursor++];
                if (l.removed || l.stalled || !l.wants(e.type())) {
                    continue;
                }
                calls++;
                IN_CALL.setRelease(this, l);
                try {
                    l.listener.onEvent(e);
                    l.delivered++;
                    eventsDelivered++;
                    deliveredByType[e.type().ordinal()]++;
                } catch (Throwable t) {
                    l.failures++;
                    l.lastFailure = t.toString();
                    listenerFailures++;
                    LOG.log(System.Logger.Level.WARNING,
                            () -> "IOASID listener " + l + " threw on " + e, t);
                }
                if (!IN_CALL.compareAndSet(this, l, null)) {
                    return; // declared stalled meanwhile: another thread carries on
                }
            }
            cursor = 0;
            n.event = null;
            n.chain = ListenerEntry.NONE;
            head = n;
            deliveredSeq = e.sequence();
            wakeWaiters();
        }
    }

    boolean isDrainingThread() {
        return drainer == Thread.currentThread();
    }

    void stallTimeout(long millis) {
        stallNanos = TimeUnit.MILLISECONDS.toNanos(millis);
        synchronized (this) {
            if (tick != null) {
                tick.cancel(false);
                tick = null;
                startWatchdog();
            }
        }
    }

    /** Starts the stall watchdog; called when the first listener arrives. */
    synchronized void startWatchdog() {
        if (tick != null) {
            return;
        }
        if (watchdog == null) {
            watchdog = Executors.newSingleThreadScheduledExecutor(r -> {
                Thread t = new Thread(r, "ioasid-listener-watchdog");
                t.setDaemon(true);
                return t;
            });
        }
        long period = Math.max(TimeUnit.MILLISECONDS.toNanos(5), Math.min(stallNanos / 4,
                TimeUnit.SECONDS.toNanos(1)));
        tick = watchdog.scheduleAtFixedRate(this::checkStall, period, period, TimeUnit.NANOSECONDS);
    }

    synchronized void close() {
        if (watchdog != null) {
            watchdog.shutdownNow();
            watchdog = null;
            tick = null;
        }
    }

    private void checkStall() {
        ListenerEntry l = inCall;
        long c = calls;
        long now = System.nanoTime();
        if (l == null || l != watched || c != watchedCall) {
            watched = l;
            watchedCall = c;
            watchedSince = now;
            return;
        }
        if (now - watchedSince < stallNanos || !IN_CALL.compareAndSet(this, l, null)) {
            return;
        }
        l.stalled = true;
        listenerStalls++;
        watched = null;
        watchedCall = -1;
        Thread stuck = drainer;
        LOG.log(System.Logger.Level.ERROR, () -> "IOASID listener " + l + " stalled for more than "
                + TimeUnit.NANOSECONDS.toMillis(stallNanos) + " ms on thread "
                + (stuck == null ? "?" : stuck.getName()) + "; it is skipped from now on");
        DRAINER.compareAndSet(this, stuck, null);
        Thread t = new Thread(this::takeOver, "ioasid-dispatch-takeover");
        t.setDaemon(true);
        t.start();
        wakeWaiters();
    }

    private void takeOver() {
        Thread me = Thread.currentThread();
        while (NEXT.getAcquire(head) != null || cursor != 0) {
            if (!DRAINER.compareAndSet(this, null, me)) {
                return; // a waiting producer took the role; it drains
            }
            try {
                drain();
            } finally {
                release(me);
            }
        }
    }
}

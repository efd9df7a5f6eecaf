package ioasid.testkit.contracts;

import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.DisplayName;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;

import ioasid.api.Ioasid;
import ioasid.api.IoasidHandle;
import ioasid.api.IoasidService;
import ioasid.api.IoasidSet;
import ioasid.api.TokenType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/**
 * The contract of an {@link IoasidListener}, checked by registering it with an IOASID core
 * ({@link #createPlatform}) and changing IDs the way users do: allocations, SPIDs bound and
 * unbound, frees while a reference is held, a set freed, from one thread and from several at
 * once, and a late registration that gets the state replayed (D13-D15).
 *
 * <p>What the listener must do, as {@link IoasidListener#onEvent} states it: return promptly
 * (here within {@link #eventBudgetMillis}, well inside the core's stall timeout), never wait for
 * the events its own calls back into the service cause (they are delivered after the current
 * one) nor for another thread that is changing IDs, and not throw for any event it is sent. The
 * suite wraps the listener to time each call and catch what it throws; a listener that blocks is
 * also caught by the core's stall watchdog, and the test fails.
 *
 * <p>Extend it in the listener's unit tests and implement {@link #createListener}; give the
 * listener's service properties with {@link #serviceProperties} (a set-scoped listener's token
 * becomes the token of the sets the suite uses), and drive what the listener reacts to beyond
 * plain IDs with {@link #exercise}.
 */
@Timeout(value = 60, threadMode = Timeout.ThreadMode.SEPARATE_THREAD)
public abstract class IoasidListenerContract {
    private static final AtomicInteger TOKENS = new AtomicInteger();

    private ContractPlatform platform;
    private Watch watch;

    /** The listener under test; {@code service} is the IOASID service it may call back. */
    protected abstract IoasidListener createListener(IoasidService service);

    /**
     * The service properties the listener registers with: {@link IoasidListener#SCOPE},
     * {@link IoasidListener#SET_TOKEN}, {@link IoasidListener#EVENTS}, the ranking. Default
     * none: system scope, every event.
     */
    protected Map<String, Object> serviceProperties() {
        return Map.of();
    }

    /** The longest one {@code onEvent} may take. Default one second. */
    protected long eventBudgetMillis() {
        return 1000;
    }

    /**
     * Drives what the listener reacts to beyond plain IDs (PASIDs attached to devices, say),
     * after the suite's own changes; the suite checks the calls it causes as the others.
     * Default nothing.
     */
    protected void exercise(IoasidService service) {
    }

    /**
     * The IOASID core the listener is registered with. Default {@link ContractPlatform#core}
     * with a stall timeout of three budgets.
     */
    protected ContractPlatform createPlatform() {
        return ContractPlatform.core(20, 3 * eventBudgetMillis());
    }

    /** Unregisters the listener and closes the platform. */
    @AfterEach
    protected final void closePlatform() {
        if (platform != null) {
            if (watch != null) {
                platform.unregisterListener(watch);
            }
            platform.close();
        }
        platform = null;
        watch = null;
    }

    private IoasidService service() {
        if (platform == null) {
            platform = createPlatform();
        }
        return platform.service();
    }

    private void register() {
        IoasidService s = service();
        IoasidListener l = createListener(s);
        assertTrue(l != null, "createListener returned null");
        watch = new Watch(l, TimeUnit.MILLISECONDS.toNanos(eventBudgetMillis()));
        platform.registerListener(watch, new HashMap<>(serviceProperties()));
    }

    private boolean setScoped() {
        return IoasidListener.SCOPE_SET.equals(serviceProperties().get(IoasidListener.SCOPE));
    }

    private TokenType tokenType() {
        Object t = serviceProperties().get(IoasidListener.SET_TOKEN_TYPE);
        return t == null ? TokenType.NONE : TokenType.valueOf(t.toString());
    }

    /** A set the listener hears: its own token for a set-scoped one, else a new token. */
    private IoasidSet newSet(int quota) {
        Object token = setScoped() ? serviceProperties().get(IoasidListener.SET_TOKEN)
                : "listener-contract-" + TOKENS.incrementAndGet();
        return service().createSet(setScoped() ? tokenType() : TokenType.NONE, token, quota);
    }

    /**
     * One user's changes: IDs allocated, SPIDs bound, one ID freed while referenced and put
     * later, SPIDs unbound, the rest freed.
     */
    private static void churn(IoasidService s, IoasidSet set, int ids, int spidBase) {
        List<IoasidHandle> hs = new ArrayList<>();
        for (int i = 0; i < ids; i++) {
            hs.add(s.alloc(set, 1, Ioasid.MAX_ID, "contract " + i));
        }
        for (int i = 0; i < ids / 2; i++) {
            s.attachSpid(hs.get(i), spidBase + i);
        }
        IoasidHandle held = hs.get(ids - 1);
        s.get(held);
        s.free(held);
        s.put(held);
        s.detachSpid(hs.get(0));
        for (int i = 0; i < ids - 1; i++) {
            s.free(hs.get(i));
        }
    }

    @Test
    @DisplayName("D13, D14: onEvent returns within its budget for ALLOC, BIND, UNBIND and FREE, "
            + "and throws for none")
    public void promptForEveryEvent() {
        register();
        IoasidService s = service();
        IoasidSet set = newSet(16);
        churn(s, set, 8, 1000);
        s.freeSet(set);
        exercise(s);
        watch.assertHealthy("after IDs changed on one thread");
        assertTrue(watch.delivered.get() > 0, "no event was delivered");
    }

    @Test
    @DisplayName("D14: while IDs change on several threads at once, no onEvent waits for "
            + "another thread's call nor for the events of its own")
    public void noWaitingAcrossThreads() throws InterruptedException {
        register();
        IoasidService s = service();
        IoasidSet set = newSet(64);
        Queue<Throwable> errors = new ConcurrentLinkedQueue<>();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            int spidBase = 1000 * (t + 1);
            Thread th = new Thread(() -> {
                try {
                    for (int round = 0; round < 5; round++) {
                        churn(s, set, 4, spidBase + 10 * round);
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            }, "listener-contract-" + t);
            threads.add(th);
            th.start();
        }
        for (Thread th : threads) {
            th.join(TimeUnit.SECONDS.toMillis(45));
        }
        for (Thread th : threads) {
            assertTrue(!th.isAlive(), th.getName() + " still runs: its calls wait for the "
                    + "listener");
        }
        assertTrue(errors.isEmpty(), "a service call failed: " + errors);
        s.freeSet(set);
        watch.assertHealthy("after IDs changed on three threads");
    }

    @Test
    @DisplayName("D15: a listener registered while IDs exist takes the replayed state (ALLOC, "
            + "BIND, FREE of a pending ID), then the live events")
    public void lateRegistrationTakesTheReplay() {
        IoasidService s = service();
        IoasidSet set = newSet(16);
        List<IoasidHandle> hs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            hs.add(s.alloc(set, 1, Ioasid.MAX_ID, "before " + i));
        }
        s.attachSpid(hs.get(0), 500);
        s.attachSpid(hs.get(1), 501);
        IoasidHandle pending = hs.get(3);
        s.get(pending);
        s.free(pending);
        register();
        watch.assertHealthy("after the replay");
        assertTrue(watch.replays.get() > 0, "nothing was replayed");
        s.put(pending);
        s.detachSpid(hs.get(0));
        for (int i = 0; i < 3; i++) {
            s.free(hs.get(i));
        }
        s.freeSet(set);
        watch.assertHealthy("after the live events that followed the replay");
    }

    @Test
    @DisplayName("rule 82: a set-scoped listener that arrived before its set joins it when it "
            + "is created")
    public void joinsItsSetWhenCreated() {
        assumeTrue(setScoped(), "the listener is not set-scoped");
        register();
        IoasidService s = service();
        IoasidSet set = newSet(16);
        churn(s, set, 4, 700);
        s.freeSet(set);
        watch.assertHealthy("after its set was created and used");
        assertTrue(watch.delivered.get() > 0, "no event reached the listener of the new set");
    }

    /** Wraps the listener: times each call, catches what it throws, counts what it got. */
    private static final class Watch implements IoasidListener {
        private final IoasidListener inner;
        private final long budgetNanos;
        final AtomicLong delivered = new AtomicLong();
        final AtomicLong replays = new AtomicLong();
        private final AtomicInteger inFlight = new AtomicInteger();
        private final Queue<String> problems = new ConcurrentLinkedQueue<>();
        private final ThreadLocal<Boolean> inside = ThreadLocal.withInitial(() -> false);

        Watch(IoasidListener inner, long budgetNanos) {
            this.inner = inner;
            this.budgetNanos = budgetNanos;
        }

        @Override
        public void onEvent(IoasidEvent event) {
            if (inside.get()) {
                problems.add("delivered " + event + " inside another onEvent on "
                        + Thread.currentThread().getName());
            }
            inside.set(true);
            inFlight.incrementAndGet();
            long t0 = System.nanoTime();
            try {
                inner.onEvent(event);
            } catch (RuntimeException | Error e) {
                problems.add(event + " threw " + e);
                throw e;
            } finally {
                long took = System.nanoTime() - t0;
                inFlight.decrementAndGet();
                inside.set(false);
                delivered.incrementAndGet();
                if (event.replay()) {
                    replays.incrementAndGet();
                }
                if (took > budgetNanos) {
                    problems.add(event + " took " + TimeUnit.NANOSECONDS.toMillis(took)
                            + " ms, over the budget of " + TimeUnit.NANOSECONDS.toMillis(
                                    budgetNanos) + " ms (D14: onEvent must not block)");
                }
            }
        }

        void assertHealthy(String when) {
            int blocked = inFlight.get();
            if (blocked > 0) {
                problems.add(blocked + " onEvent call(s) never returned (D14: a listener that "
                        + "waits is stalled and skipped)");
            }
            assertTrue(problems.isEmpty(), when + ": " + problems);
        }

        @Override
        public String toString() {
            return inner.toString();
        }
    }
}

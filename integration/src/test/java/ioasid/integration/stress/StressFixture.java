package ioasid.integration.stress;

import java.io.IOException;
import java.io.InputStream;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadInfo;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Hashtable;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.BiConsumer;
import java.util.function.Function;
import java.util.function.IntBinaryOperator;
import java.util.function.IntConsumer;

import org.osgi.framework.Bundle;
import org.osgi.framework.BundleContext;
import org.osgi.framework.ServiceRegistration;
import org.osgi.framework.wiring.FrameworkWiring;

import ioasid.api.IoasidService;
import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.IdSpaceDTO;
import ioasid.api.dto.ListenerDTO;
import ioasid.api.spi.IoasidListener;
import ioasid.integration.stress.tiny.ForwardingAllocatorActivator;
import ioasid.integration.stress.tiny.JournalListenerActivator;
import ioasid.testkit.osgi.IoasidPlatform;
import ioasid.testkit.osgi.TinyBundles;

/**
 * Budgets, bundles built at test time, and thread handling for the Stress and Fault suites.
 *
 * <p>Budget: {@code -Dioasid.stress.ops=N} is the number of operations of the whole Stress group
 * (default 1,000,000), split evenly over its tests; {@code -Dioasid.stress.seed=S} replays the
 * random choices of every thread (thread interleavings are not replayable).
 */
final class StressFixture {
    /** The helper identity of the test-built allocator bundles (one shared ID space). */
    static final String HELPERS = "stress-space";
    static final long TOTAL_OPS = Long.getLong("ioasid.stress.ops", 1_000_000L);
    static final long SEED = Long.getLong("ioasid.stress.seed", System.nanoTime());

    private StressFixture() {
    }

    /** This test's share of the group's operations. */
    static long opsPerTest(int testsInGroup) {
        return Math.max(1_000, TOTAL_OPS / testsInGroup);
    }

    static String report(String name, long ops, long nanos) {
        long ms = Math.max(1, TimeUnit.NANOSECONDS.toMillis(nanos));
        String line = String.format("STRESS %s: %d ops in %d ms = %d ops/s (seed %d)", name, ops,
                ms, ops * 1000 / ms, SEED);
        System.out.println(line);
        return line;
    }

    // ------------------------------------------------------------------ bundles built at test time


    /**
     * An allocator bundle forwarding to the host registered as {@code host}; its helper identity
     * is {@link #HELPERS} (interned, or an equal new string per start when {@code intern} is
     * false).
     */
    static InputStream allocatorBundle(String name, int ranking, String host, boolean intern)
            throws IOException {
        return TinyBundles.bundle(ForwardingAllocatorActivator.class, "stress.allocator." + name,
                "ioasid.api.spi;version=\"[1.0,2)\",org.osgi.framework",
                Map.of("Allocator-Name", name, "Allocator-Ranking", Integer.toString(ranking),
                        "Allocator-Host", host, "Allocator-Helpers", HELPERS,
                        "Allocator-Intern", Boolean.toString(intern)));
    }

    /**
     * Registers {@code host} under {@code name}, installs and starts an allocator bundle of that
     * name forwarding to it (ranking 10), and waits until the shared space is the active one.
     */
    static Bundle startAllocator(BundleContext ctx, IoasidService ioasid, String name,
            HostSpace host, boolean intern) throws Exception {
        registerHost(ctx, name, host);
        Bundle b = ctx.installBundle("stress:" + name, allocatorBundle(name, 10, name, intern));
        b.start();
        awaitActive(ioasid);
        return b;
    }

    /** Waits until the test-built allocators' shared space is the active one. */
    static void awaitActive(IoasidService ioasid) {
        IoasidPlatform.await("the allocator active", () -> {
            IdSpaceDTO s = space(ioasid, HELPERS);
            return s != null && s.active;
        });
    }

    /** The snapshot of the ID space named {@code name}, or null while there is none. */
    static IdSpaceDTO space(IoasidService ioasid, String name) {
        for (IdSpaceDTO s : ioasid.idSpaces()) {
            if (s.name.equals(name)) {
                return s;
            }
        }
        return null;
    }

    /** A listener bundle reporting to the {@link Journal}. */
    static InputStream listenerBundle(String name, int ranking) throws IOException {
        return TinyBundles.bundle(JournalListenerActivator.class, "stress.listener." + name,
                "ioasid.api.spi;version=\"[1.0,2)\",org.osgi.framework",
                Map.of("Listener-Name", name, "Listener-Ranking", Integer.toString(ranking)));
    }

    static ServiceRegistration<?> registerHost(BundleContext ctx, String name, HostSpace host) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("stress.host", name);
        return ctx.registerService(new String[] {IntBinaryOperator.class.getName(),
            IntConsumer.class.getName()}, host, p);
    }

    static ServiceRegistration<?> registerJournal(BundleContext ctx, Journal journal) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put("stress.journal", "true");
        return ctx.registerService(new String[] {BiConsumer.class.getName(),
            Function.class.getName()}, journal, p);
    }

    static ServiceRegistration<IoasidListener> registerListener(BundleContext ctx,
            IoasidListener l, String name, int ranking) {
        Hashtable<String, Object> p = new Hashtable<>();
        p.put(org.osgi.framework.Constants.SERVICE_RANKING, ranking);
        p.put(IoasidListener.NAME, name);
        return ctx.registerService(IoasidListener.class, l, p);
    }

    static void refresh(BundleContext ctx, Bundle b) throws InterruptedException {
        FrameworkWiring fw = ctx.getBundle(0).adapt(FrameworkWiring.class);
        CountDownLatch done = new CountDownLatch(1);
        fw.refreshBundles(List.of(b), e -> done.countDown());
        if (!done.await(IoasidPlatform.TIMEOUT_MS, TimeUnit.MILLISECONDS)) {
            throw new AssertionError("refresh of " + b.getSymbolicName() + " did not finish");
        }
    }

    static AllocatorDTO allocator(IoasidService ioasid, String name) {
        for (AllocatorDTO a : ioasid.allocators()) {
            if (a.name.equals(name)) {
                return a;
            }
        }
        return null;
    }

    static ListenerDTO listener(IoasidService ioasid, String name) {
        for (ListenerDTO l : ioasid.listeners()) {
            if (l.name.equals(name)) {
                return l;
            }
        }
        return null;
    }

    // ------------------------------------------------------------------ threads

    /**
     * Threads of one run: the first failure of any of them is kept, and {@link #join} fails with
     * it, or with every thread's stack when they do not finish in time.
     */
    static final class Crew {
        private final List<Thread> threads = new ArrayList<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        final List<String> notes = Collections.synchronizedList(new ArrayList<>());

        interface Body {
            void run() throws Exception;
        }

        Thread start(String name, Body body) {
            Thread t = new Thread(() -> {
                try {
                    body.run();
                } catch (Throwable e) {
                    failure.compareAndSet(null, new AssertionError(Thread.currentThread().getName()
                            + " failed: " + e, e));
                }
            }, name);
            t.setDaemon(true);
            threads.add(t);
            t.start();
            return t;
        }

        boolean failed() {
            return failure.get() != null;
        }

        void join(long timeoutMs) throws InterruptedException {
            long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(timeoutMs);
            for (Thread t : threads) {
                long left = TimeUnit.NANOSECONDS.toMillis(deadline - System.nanoTime());
                t.join(Math.max(1, left));
                if (t.isAlive()) {
                    String dump = dump();
                    for (Thread x : threads) {
                        x.interrupt();
                    }
                    throw new AssertionError("thread " + t.getName() + " did not finish in "
                            + timeoutMs + " ms" + (failed() ? " (first failure: "
                                    + failure.get() + ")" : "") + "\n" + dump, failure.get());
                }
            }
            rethrow();
        }

        void rethrow() {
            Throwable f = failure.get();
            if (f != null) {
                throw f instanceof AssertionError ae ? ae : new AssertionError(f);
            }
        }
    }

    static String dump() {
        StringBuilder sb = new StringBuilder();
        for (ThreadInfo ti : ManagementFactory.getThreadMXBean().dumpAllThreads(true, true)) {
            sb.append('"').append(ti.getThreadName()).append("\" ").append(ti.getThreadState());
            if (ti.getLockName() != null) {
                sb.append(" on ").append(ti.getLockName());
            }
            if (ti.getLockOwnerName() != null) {
                sb.append(" owned by ").append(ti.getLockOwnerName());
            }
            sb.append('\n');
            StackTraceElement[] st = ti.getStackTrace();
            for (int i = 0; i < Math.min(st.length, 25); i++) {
                sb.append("    at ").append(st[i]).append('\n');
            }
        }
        return sb.toString();
    }
}

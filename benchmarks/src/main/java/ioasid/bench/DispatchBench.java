package ioasid.bench;

import java.util.ArrayList;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;
import org.osgi.framework.Constants;

import ioasid.api.IoasidHandle;
import ioasid.api.spi.EventType;
import ioasid.api.spi.IoasidEvent;
import ioasid.api.spi.IoasidListener;

/**
 * Benchmark 5: one event delivered, in ranking order, to three listeners (CPU, IOMMU, DEVICE).
 * The core is driven through {@code notify(handle, BIND)}: the caller's time covers validation,
 * sequencing under the lock and synchronous delivery by the core's dispatcher. The baselines
 * build the event and call a ranking-sorted listener list, either a copy-on-write list with no
 * ordering between threads, or under one lock so that events stay ordered as the core's do.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
public class DispatchBench {
    @Param({"core", "copyOnWrite", "locked"})
    public String impl;

    private CoreSpace space;
    private IoasidHandle handle;
    private final Counting[] listeners = {
        new Counting(IoasidListener.PRIORITY_DEVICE),
        new Counting(IoasidListener.PRIORITY_CPU),
        new Counting(IoasidListener.PRIORITY_IOMMU),
    };
    private final List<IoasidListener> list = new CopyOnWriteArrayList<>();
    private final Object lock = new Object();
    private long seq;
    private Runnable op;

    /** Records what it saw, and checks the order across the three. */
    static final class Counting implements IoasidListener {
        static long lastSeq;
        static int lastRank = Integer.MAX_VALUE;
        final int rank;
        long seen;
        long misordered;

        Counting(int rank) {
            this.rank = rank;
        }

        @Override
        public void onEvent(IoasidEvent event) {
            seen++;
            if (event.sequence() == lastSeq && rank > lastRank) {
                misordered++;
            }
            lastSeq = event.sequence();
            lastRank = rank;
        }
    }

    @Setup
    public void setUp() {
        space = new CoreSpace();
        handle = (IoasidHandle) space.alloc(1, IdSpace.MAX);
        if (impl.equals("core")) {
            long sid = 1;
            for (Counting l : listeners) {
                Map<String, Object> props = new HashMap<>();
                props.put(Constants.SERVICE_ID, sid++);
                props.put(Constants.SERVICE_RANKING, l.rank);
                props.put(IoasidListener.EVENTS, "BIND");
                space.core.bindListener(l, props);
            }
        } else {
            List<Counting> sorted = new ArrayList<>(List.of(listeners));
            sorted.sort(Comparator.comparingInt((Counting c) -> c.rank).reversed());
            list.addAll(sorted);
        }
        switch (impl) {
            case "core":
                op = () -> space.core.notify(handle, EventType.BIND);
                break;
            case "copyOnWrite":
                op = () -> deliver(new IoasidEvent(EventType.BIND, handle, handle.id(), -1,
                        space.set, null, false, ++seq));
                break;
            case "locked":
                op = () -> {
                    synchronized (lock) {
                        deliver(new IoasidEvent(EventType.BIND, handle, handle.id(), -1,
                                space.set, null, false, ++seq));
                    }
                };
                break;
            default:
                throw new IllegalArgumentException("unknown impl " + impl);
        }
    }

    @TearDown
    public void check() {
        long first = listeners[0].seen;
        for (Counting l : listeners) {
            if (l.seen != first || l.seen == 0 || l.misordered != 0) {
                throw new IllegalStateException("listener " + l.rank + " saw " + l.seen
                        + " events, " + l.misordered + " out of order");
            }
        }
    }

    @Benchmark
    public void dispatch() {
        op.run();
    }

    private void deliver(IoasidEvent e) {
        for (IoasidListener l : list) {
            l.onEvent(e);
        }
    }
}

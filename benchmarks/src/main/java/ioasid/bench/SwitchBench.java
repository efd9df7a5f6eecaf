package ioasid.bench;

import java.util.BitSet;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
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

import ioasid.api.dto.AllocatorDTO;
import ioasid.api.dto.StatsDTO;

/**
 * Benchmark 6: the active custom allocator's bundle stops while 1M IDs it handed out are live.
 * {@code shared}: a second allocator over the same helpers takes over and the IDs stay live in
 * the same space, which the core must do without touching them. {@code departing}: no allocator
 * shares the helpers, so the core revokes all 1M IDs (seed D7) and falls back to the default; no
 * target, it shows the price of the other case. {@code rebuild}: the baseline, what a Java user
 * swapping allocators would do, copying the live table ({@code HashMap} and {@code BitSet}) into
 * the next allocator's.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.SingleShotTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 10)
@Measurement(iterations = 20)
@Fork(value = 1, jvmArgsAppend = {"-Xms2g", "-Xmx2g"})
public class SwitchBench {
    static final int LIVE = 1_000_000;

    @Param({"shared", "departing", "rebuild"})
    public String impl;

    private CoreSpace space;
    private SharedHelpers.Allocator first;
    private SharedHelpers.Allocator second;
    private Map<String, Object> firstProps;
    private Map<Integer, Entry> table;
    private BitSet used;
    private Object copy;

    @Setup(Level.Iteration)
    public void setUp() {
        if (!List.of("shared", "departing", "rebuild").contains(impl)) {
            throw new IllegalArgumentException("unknown impl " + impl);
        }
        if (impl.equals("rebuild")) {
            table = new HashMap<>();
            used = new BitSet(IdSpace.MAX + 1);
            Object owner = new Object();
            for (int id = 1; id <= LIVE; id++) {
                table.put(id, new Entry(id, owner, null));
                used.set(id);
            }
            return;
        }
        space = new CoreSpace();
        SharedHelpers helpers = new SharedHelpers();
        first = new SharedHelpers.Allocator(helpers);
        firstProps = props(1, 10);
        space.core.bindAllocator(first, firstProps);
        if (impl.equals("shared")) {
            second = new SharedHelpers.Allocator(helpers);
            space.core.bindAllocator(second, props(2, 5));
        }
        Fill.live(space, LIVE);
    }

    private static Map<String, Object> props(long serviceId, int ranking) {
        Map<String, Object> p = new HashMap<>();
        p.put(Constants.SERVICE_ID, serviceId);
        p.put(Constants.SERVICE_RANKING, ranking);
        return p;
    }

    @Benchmark
    public Object unplug() {
        if (impl.equals("rebuild")) {
            Map<Integer, Entry> next = new HashMap<>(table);
            BitSet nextUsed = (BitSet) used.clone();
            copy = next;
            return nextUsed;
        }
        space.core.unbindAllocator(first, firstProps);
        return space;
    }

    /** The switch must have done what it claims, or its time means nothing. */
    @TearDown(Level.Iteration)
    public void check() {
        if (impl.equals("rebuild")) {
            if (((Map<?, ?>) copy).size() != LIVE) {
                throw new IllegalStateException("copy lost entries");
            }
            return;
        }
        StatsDTO stats = space.core.stats();
        AllocatorDTO[] allocators = space.core.allocators();
        if (impl.equals("shared")) {
            long before = second.calls;
            space.alloc(1, IdSpace.MAX);
            if (stats.live != LIVE || stats.revoked != 0 || allocators.length != 1
                    || !AllocatorDTO.ACTIVE.equals(allocators[0].state)
                    || second.calls != before + 1) {
                throw new IllegalStateException("the second allocator did not take over: "
                        + stats + " " + java.util.Arrays.toString(allocators));
            }
        } else if (stats.revoked != LIVE || allocators.length != 0) {
            throw new IllegalStateException("the IDs were not revoked: " + stats);
        }
        space.core.close();
    }
}
